# Microservices on Kubernetes — a hands-on workshop.
# `make` (or `make help`) lists every target. Versions come from versions.env only.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

include versions.env

REPO_ROOT := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))
VENV := $(REPO_ROOT)/.venv
VENV_STAMP := $(VENV)/.installed
PYTHON ?= python3
WORKSHOP := $(VENV)/bin/workshop
# Binaries the project builds itself (kubectl, istioctl, ...) come first on PATH.
export PATH := $(REPO_ROOT)/.bin:$(VENV)/bin:$(PATH)

KIND_CLUSTER ?= workshop
KIND_NODE_IMAGE := kindest/node:$(KUBERNETES_VERSION)@$(KIND_NODE_DIGEST)
LEVELS := 1 2 3 4 5 6 7
SITE_DIR := _build/html
PORT ?= 8000

# Fragments add their own targets, and prerequisites of `make test` to TEST_PREREQS.
TEST_PREREQS :=
-include mk/*.mk

##@ Start here

.PHONY: help
help: ## list every target (this page)
	@awk 'BEGIN {FS = ":.*?## "} \
	  /^##@/ {printf "\n%s\n", substr($$0, 5); next} \
	  /^[a-zA-Z0-9_.-]+:.*?## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@printf "\nLevels (N = %s)\n" "$(LEVELS)"
	@printf "  %-16s %s\n" "lab-N" "deploy level N's exercise on your local cluster" \
	  "check-N" "self-grade level N: what is right, what is wrong, what to do next" \
	  "solve-N" "apply level N's solution (when you are stuck)" \
	  "reset-N" "remove what level N created, leaving the cluster as before" \
	  "catchup-N" "bring the cluster to the start of level N: levels 1..N-1 solved, in order (N = 2..7)"
	@$(PYTHON) -c 'import sys; sys.path.insert(0, "$(REPO_ROOT)"); \
	  from workshop.levels import LEVELS; \
	  print("  " + ", ".join(f"{l.number} {l.slug.split(chr(45), 1)[1]}" for l in LEVELS if l.number))'

.PHONY: serve
serve: html ## build the site and serve it at http://127.0.0.1:8000 (日本語: /ja/)
	@echo "Serving the workshop at http://127.0.0.1:$(PORT)/ and, in Japanese, http://127.0.0.1:$(PORT)/ja/ (Ctrl-C to stop)"
	@$(VENV)/bin/python -m http.server $(PORT) --bind 127.0.0.1 --directory $(SITE_DIR)

.PHONY: test
# Two pytest processes: level 7's pair of sims beside the rest (scripts/run-tests.sh).
test: $(VENV_STAMP) $(TEST_PREREQS) ## run the whole test suite (what CI runs)
	@scripts/run-tests.sh $(VENV)/bin/pytest $(PYTEST_ARGS)

.PHONY: doctor
doctor: $(VENV_STAMP) ## check your tools, versions, container engine and cluster
	@$(WORKSHOP) doctor

##@ Site

.PHONY: html
html: $(VENV_STAMP) ## build the HTML site strictly, English and Japanese (a warning fails the build)
	@$(VENV)/bin/sphinx-build -nW --keep-going -q -b html . $(SITE_DIR)
	@$(VENV)/bin/sphinx-build -nW --keep-going -q -b html -D language=ja . $(SITE_DIR)/ja -d _build/doctrees-ja
	@echo "Site built: $(SITE_DIR)/index.html (日本語: $(SITE_DIR)/ja/index.html)"

.PHONY: clean
clean: ## remove the built site and caches (keeps .venv)
	rm -rf _build .pytest_cache

##@ Python environment

.PHONY: venv
venv: $(VENV_STAMP) ## create .venv with the pinned requirements

$(VENV_STAMP): pyproject.toml $(wildcard requirements/*.txt)
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check \
	  $(addprefix -r ,$(filter-out requirements/constraints.txt,$(wildcard requirements/*.txt))) \
	  $(if $(wildcard requirements/constraints.txt),-c requirements/constraints.txt) -e .
	@touch $@

.PHONY: lock
lock: $(VENV_STAMP) ## write requirements/constraints.txt from the working .venv
	@$(VENV)/bin/pip freeze --exclude-editable > requirements/constraints.txt

##@ Cluster (kind)

.PHONY: cluster
cluster: ## create the local kind cluster `workshop` (config: labs/00-setup/kind-cluster.yaml)
	@command -v kind >/dev/null || { echo "kind is not installed: see Level 0 (labs/00-setup) for how to install $(KIND_VERSION)."; exit 2; }
	@if kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then \
	  echo "kind cluster '$(KIND_CLUSTER)' already exists: nothing to do."; \
	else \
	  kind create cluster --name $(KIND_CLUSTER) --image $(KIND_NODE_IMAGE) \
	    --config labs/00-setup/kind-cluster.yaml --wait 120s; \
	fi

.PHONY: cluster-delete
cluster-delete: ## delete the local kind cluster `workshop`
	@command -v kind >/dev/null || { echo "kind is not installed: there is no kind cluster to delete."; exit 2; }
	kind delete cluster --name $(KIND_CLUSTER)

# Levels: lab-N, solve-N and reset-N change the cluster: scripts/lab.sh prints the context
# and refuses one that is not local. check-N only reads.
define LEVEL_TARGETS
.PHONY: lab-$(1) solve-$(1) reset-$(1) check-$(1)
lab-$(1): $$(VENV_STAMP)
	@scripts/lab.sh deploy $(1)
solve-$(1): $$(VENV_STAMP)
	@scripts/lab.sh solve $(1)
reset-$(1): $$(VENV_STAMP)
	@scripts/lab.sh reset $(1)
check-$(1): $$(VENV_STAMP)
	@$$(WORKSHOP) check $(1) $$(CHECK_ARGS)
endef
$(foreach n,$(LEVELS),$(eval $(call LEVEL_TARGETS,$(n))))
