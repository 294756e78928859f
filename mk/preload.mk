##@ Before the workshop (at home, on a good network)

# `make preload` reads the committed list labs/00-setup/images.txt (no Go needed), downloads
# the release manifests it names (Knative's), pulls for the kind nodes' platform and loads
# into kind. `make preload-images` writes that list from the pinned sources (versions.env,
# the manifests each level applies): never typed by hand. Manifests are cached in
# .cache/preload/ (gitignored).
PRELOAD_ARGS ?=
PRELOAD_IMAGES := labs/00-setup/images.txt

.PHONY: preload
preload: $(VENV_STAMP) ## pull every image the workshop needs once, then load them into kind cluster `workshop`
	@$(WORKSHOP) preload $(PRELOAD_ARGS)

.PHONY: preload-list
preload-list: $(VENV_STAMP) ## print the images `make preload` pulls and where each one is read from
	@$(WORKSHOP) preload --list

.PHONY: preload-images
preload-images: $(VENV_STAMP) ## rewrite labs/00-setup/images.txt from the pinned sources (needs Go: builds istioctl)
	@$(WORKSHOP) preload --write-list $(PRELOAD_IMAGES)

# `make requirements` measures levels 2 to 6 on sim cluster SIM (lab-N, solve-N, read every
# pod's requests, reset-N) and rewrites the table level 0 includes.
.PHONY: requirements
requirements: $(VENV_STAMP) ## measure each level's CPU and memory requests on sim cluster SIM; rewrite labs/00-setup/requirements.md
	@$(WORKSHOP) sim up --sim $(SIM)
	@$(WORKSHOP) requirements --sim $(SIM) --write
