##@ Sim cluster (tests)

# The sim cluster is a real control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler) plus KWOK fake nodes, built from upstream source into
# $(WORKSHOP_CACHE) and run as processes on 127.0.0.1. SIM=2 starts a second one beside
# the first (.sim/2/, context workshop-sim-2). NODES=real starts two real worker nodes
# (containerd, kubelet, kube-proxy, CoreDNS) instead of KWOK's fake ones. See
# docs/contributing/testing.md.
SIM ?= 1
NODES ?= kwok
SIM_CLI = $(WORKSHOP) sim

# Built before the tests run, so a cold build's progress shows in `make test` (and in
# CI's log) rather than inside a pytest fixture; instant once cached. Without Go, this
# warns and the cluster tests skip loudly (with CI=true, it fails).
TEST_PREREQS += sim-build-for-tests
# The real-node sim's Debian packages (containerd, CNI plugins, socat...), installed as
# containers-setup installs podman; without them the real-node tests skip loudly (fail with CI=true).
TEST_PREREQS += sim-node-setup

.PHONY: sim-node-setup
sim-node-setup: ## install the Debian packages of the real-node sim (containerd, runc, CNI plugins, socat...)
	@scripts/sim/setup-nodes.sh || { [ "$${CI:-}" != true ] && echo "sim-node-setup: packages missing; real-node tests will be skipped" >&2; }

.PHONY: sim-build-for-tests
sim-build-for-tests: $(VENV_STAMP) ## sim-build for `make test`: without Go, warn (tests skip loudly) unless CI=true
	@$(SIM_CLI) build --for-tests

.PHONY: sim-build
sim-build: $(VENV_STAMP) ## build etcd, the control plane, kubectl and kwok (cached) and link them into .bin/
	@$(SIM_CLI) build

.PHONY: sim-up
sim-up: $(VENV_STAMP) ## start the sim cluster (SIM=N for another one, NODES=real for real workers); a no-op if it is up
	@$(SIM_CLI) up --sim $(SIM) --nodes $(NODES)

.PHONY: sim-down
sim-down: $(VENV_STAMP) ## stop the sim cluster (SIM=N) and delete its data; logs stay in .sim/
	@$(SIM_CLI) down --sim $(SIM)

.PHONY: sim-status
sim-status: $(VENV_STAMP) ## show the sim cluster's processes, memory and readiness (SIM=N)
	@$(SIM_CLI) status --sim $(SIM)

.PHONY: sim-load
sim-load: $(VENV_STAMP) ## `kind load docker-image` for the sim: IMAGES="localhost/workshop/gateway:dev ..." into its real nodes
	@$(SIM_CLI) load --sim $(SIM) $(IMAGES)

.PHONY: bench-node
bench-node: $(VENV_STAMP) sim-node-setup ## measure the real-node sim: nodes Ready, one pod Ready, nodes' memory (sim 8)
	@$(VENV)/bin/python -m workshop.sim.bench_node
