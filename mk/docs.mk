##@ Docs tests (every command on the pages runs, or is visibly marked)

# The commands of each lab page are extracted and run (workshop/doctest); the built site is
# loaded in Debian's headless Chromium. See docs/contributing/testing.md.
DOCTEST := $(VENV)/bin/python -m workshop.doctest
CHROMIUM := /usr/bin/chromium
SIM ?= 1
SCREENSHOTS_DIR := _build/screenshots
# e.g. `make e2e E2E_LEVELS=2,3` to rehearse two levels only.
E2E_LEVELS ?=

# The browser tests need Chromium: in CI it is installed here, before pytest starts.
TEST_PREREQS += browser-prereqs

.PHONY: doc-coverage
doc-coverage: $(VENV_STAMP) ## blocks run / marked / total per lab page; fails if a block is neither
	@$(DOCTEST) coverage

.PHONY: doc-pages
doc-pages: $(VENV_STAMP) ## run every lab page's commands against sim cluster SIM (started if needed)
	@$(WORKSHOP) sim up --sim $(SIM)
	@$(DOCTEST) run --sim $(SIM)

.PHONY: e2e
e2e: $(VENV_STAMP) ## rehearse an event: run every page, real-cluster steps too, on kind `workshop`
	@$(DOCTEST) e2e $(if $(E2E_LEVELS),--levels $(E2E_LEVELS))

.PHONY: browser-prereqs
# A Japanese font (IPA Gothic, 3.5 MB) so the Japanese pages' screenshots show text, not boxes.
browser-prereqs: ## install Debian's chromium and a Japanese font when CI=true and they are missing (otherwise say how)
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="chromium fonts-liberation"; \
	fc-list :lang=ja 2>/dev/null | grep -q . || missing="$$missing fonts-ipafont-gothic"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$${CI:-}" = true ]; then \
	  echo "browser-prereqs: installing$$missing with apt-get (CI=true)"; \
	  apt-get -o DPkg::Lock::Timeout=300 update -qq || echo "browser-prereqs: apt-get update reported errors; trying the install anyway"; \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
	    $$missing >/dev/null; \
	else \
	  echo "browser-prereqs: WARNING:$$missing missing: the browser tests are SKIPPED without chromium, and Japanese screenshots show no text without a Japanese font: apt-get install$$missing"; \
	fi

.PHONY: browser-check
browser-check: html browser-prereqs ## load every page of the built site in headless Chromium; screenshots in _build/screenshots
	@$(DOCTEST) browser --site $(SITE_DIR) --screenshots $(SCREENSHOTS_DIR)
