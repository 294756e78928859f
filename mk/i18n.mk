##@ Translations (the Japanese edition; see docs/contributing/translation.md)

# The site's catalogs are locales/ja/LC_MESSAGES/<page>.po (Sphinx gettext + sphinx-intl); the
# `workshop` command's is workshop/locale/ja/LC_MESSAGES/workshop.po (Babel). `make html`
# builds the Japanese site into _build/html/ja/ from them.
I18N := $(VENV)/bin/python -m workshop.i18n_catalogs
# e.g. `make intl-update PAGES=labs/02-orchestrate/README` starts the catalog of a new page.
PAGES ?=

.PHONY: intl-update
intl-update: $(VENV_STAMP) ## extract the English messages and merge them into every catalog (PAGES=... adds pages)
	@$(I18N) update $(if $(PAGES),--pages $(PAGES))

.PHONY: intl-check
intl-check: $(VENV_STAMP) ## fail when a catalog is stale, fuzzy, obsolete or has an untranslated entry
	@$(I18N) check

.PHONY: i18n-coverage
i18n-coverage: $(VENV_STAMP) ## translated messages per page; the last line sums them up
	@$(I18N) coverage
