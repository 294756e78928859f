##@ Multi-cluster (level 7)

# Two kind clusters, east and west, side by side on the laptop's `kind` container network,
# so that each cluster's pods can reach the other's API server and east-west gateway.
# Contexts: kind-east and kind-west. Level 7 is not measured: labs/00-setup/laptop-level-7.md says why.
MULTICLUSTER_DIR := labs/07-multicluster

# $(call kind_cluster,NAME): create kind cluster NAME from $(MULTICLUSTER_DIR)/kind-NAME.yaml, once.
define kind_cluster
command -v kind >/dev/null || { echo "kind is not installed: see Level 0 (labs/00-setup) for how to install $(KIND_VERSION)."; exit 2; }; \
if kind get clusters 2>/dev/null | grep -qx '$(1)'; then \
  echo "kind cluster '$(1)' already exists: nothing to do."; \
else \
  kind create cluster --name $(1) --image $(KIND_NODE_IMAGE) --config $(MULTICLUSTER_DIR)/kind-$(1).yaml --wait 120s; \
fi
endef

.PHONY: cluster-east
cluster-east: ## create kind cluster `east` of level 7 (context kind-east)
	@$(call kind_cluster,east)

.PHONY: cluster-west
cluster-west: ## create kind cluster `west` of level 7 (context kind-west)
	@$(call kind_cluster,west)

.PHONY: delete-east-west
delete-east-west: ## delete the kind clusters east and west of level 7
	@command -v kind >/dev/null || { echo "kind is not installed: there is no kind cluster to delete."; exit 2; }
	kind delete cluster --name east
	kind delete cluster --name west

# Level 7's tests make a root CA with openssl (labs/07-multicluster/certs.sh): on a fresh CI
# machine, install it; elsewhere, say what is missing.
TEST_PREREQS += openssl-for-tests

.PHONY: openssl-for-tests
openssl-for-tests: ## make sure openssl is there for level 7's tests (installed with apt-get when CI=true)
	@command -v openssl >/dev/null || { \
	  if [ "$${CI:-}" = true ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq openssl >/dev/null; \
	  else \
	    echo "openssl-for-tests: openssl is not installed, so level 7's tests will fail: apt install openssl (or brew install openssl)." >&2; \
	  fi; }
