##@ Sample application (services/)

APP_SERVICES := gateway customer order account loadgen invoice postgres
APP_DOCKERFILES := $(wildcard services/*/Dockerfile)
# The line after this marker is rewritten by sync-versions (a Dockerfile has no end-of-line comments).
BASE_IMAGE_MARKER := \# generated from versions.env
BENCH_REQUESTS ?= 2000
BENCH_CONCURRENCY ?= 16

# requirements/app.txt includes the services' runtime pins: a change there refreshes .venv too.
$(VENV_STAMP): services/common/requirements.txt

# The container tests need podman and a local base image: set them up before `make test`.
TEST_PREREQS += containers-setup

# The services' tests under replicas and `make bench-app` start a throwaway PostgreSQL
# (workshop/postgres_local.py) from Debian's package: on a fresh CI machine, install it.
TEST_PREREQS += postgres-for-tests

.PHONY: postgres-for-tests
postgres-for-tests: ## make sure PostgreSQL's server binaries are there (installed with apt-get when CI=true)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  if [ "$${CI:-}" = true ] && command -v apt-get >/dev/null; then \
	    mkdir -p /etc/postgresql-common/createcluster.d && \
	    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/workshop.conf && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "postgres-for-tests: PostgreSQL is not installed, so the tests under replicas are skipped: apt install postgresql." >&2; \
	  fi; }

.PHONY: containers-setup
containers-setup: ## install podman if missing and build the local Debian+Python base image
	@scripts/containers/setup.sh || { [ "$${CI:-}" != true ] && echo "containers-setup: podman unavailable; container tests will be skipped" >&2; }

.PHONY: images
# containers-setup first: podman, its containers.conf and the local base image (a fresh checkout has none).
images: containers-setup ## build the images localhost/workshop/<service>:dev with podman
	@scripts/containers/build.sh $(APP_SERVICES)

.PHONY: app-up
app-up: images ## run the whole app with podman; the gateway is on http://127.0.0.1:8080
	@scripts/containers/app.sh up

.PHONY: app-down
app-down: ## stop and remove the app's containers (volumes are kept)
	@scripts/containers/app.sh down

.PHONY: bench-app
bench-app: $(VENV_STAMP) ## benchmark the chain under gunicorn against a single-hop baseline
	@$(VENV)/bin/python scripts/containers/bench_app.py --requests $(BENCH_REQUESTS) --concurrency $(BENCH_CONCURRENCY)

.PHONY: sync-versions
sync-versions: ## rewrite the generated `ARG BASE_IMAGE=` lines of the Dockerfiles from versions.env
	@sed -i -E '/^$(BASE_IMAGE_MARKER)/{n;s|^ARG BASE_IMAGE=.*$$|ARG BASE_IMAGE=$(PYTHON_BASE_IMAGE)|}' $(APP_DOCKERFILES)
	@echo "sync-versions: BASE_IMAGE=$(PYTHON_BASE_IMAGE) in $(words $(APP_DOCKERFILES)) Dockerfiles"
