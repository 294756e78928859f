# Knative Serving's own components for the real-node sim (workshop/sim/knative.py).
# Not a prerequisite of `make test` yet: at KNATIVE_SERVING_MODULE the module proxy refuses
# serving's knative.dev dependencies (docs/contributing/testing.md, "Level 6 on real nodes").

.PHONY: knative-check
knative-check: $(VENV_STAMP) ## can Knative Serving be built here? (asks the module proxy for its dependencies)
	@$(VENV)/bin/python -m workshop.sim.knative check

.PHONY: knative-images
knative-images: $(VENV_STAMP) ## build Knative Serving's controller, webhook, autoscaler, activator and queue-proxy images
	@$(VENV)/bin/python -m workshop.sim.knative images
