##@ Helm (tests)

# helm is built from the helm.sh/helm/v4 module at HELM_VERSION into $(WORKSHOP_CACHE) and
# linked as .bin/helm (learners install the release binary, level 0). The chart's render test
# and level 4's page need it, so a cold build shows in `make test`'s log, once; instant once
# cached. Without Go it warns (those tests then skip loudly) unless CI=true.
TEST_PREREQS += helm-for-tests

.PHONY: helm
helm: $(VENV_STAMP) ## build helm from its Go module at HELM_VERSION (cached) and link it into .bin/
	@$(VENV)/bin/python -m workshop.sim.helm build

.PHONY: helm-for-tests
helm-for-tests: $(VENV_STAMP) ## helm for `make test`: without Go, warn (tests skip loudly) unless CI=true
	@$(VENV)/bin/python -m workshop.sim.helm build --for-tests

.PHONY: helm-lint
helm-lint: helm ## lint the app's chart (manifests/helm/workshop) strictly
	@helm lint --strict manifests/helm/workshop
