##@ Istio tools (tests)

# istioctl is built from istio.io/istio at ISTIO_SOURCE_VERSION (the release branch: the
# module proxy serves no Istio release tag) into $(WORKSHOP_CACHE) and linked as .bin/istioctl.
# tests/sim/test_istio_tools.py needs it, so a cold build shows in `make test`'s log, once;
# instant once cached. Without Go it warns (the Istio tests then skip loudly) unless CI=true.
TEST_PREREQS += istioctl-for-tests

.PHONY: istioctl
istioctl: $(VENV_STAMP) ## build istioctl from Istio's source (cached) and link it into .bin/
	@$(VENV)/bin/python -m workshop.sim.istio build

.PHONY: istioctl-for-tests
istioctl-for-tests: $(VENV_STAMP) ## istioctl for `make test`: without Go, warn (tests skip loudly) unless CI=true
	@$(VENV)/bin/python -m workshop.sim.istio build --for-tests
