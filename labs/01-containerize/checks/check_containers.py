"""Level 1: images built with their labels, containers running as non-root and healthy,
and the gateway answering with all four hops."""

import json
import os
import urllib.error
import urllib.request

from workshop.grading import N_, check, verify
from workshop.grading.engine import health_command, health_status

GATEWAY_URL = os.environ.get("WORKSHOP_GATEWAY_URL", "http://127.0.0.1:8080")
# The workshop site as `make serve` serves it.
DOCS = "http://127.0.0.1:8000/labs/01-containerize/README.html"


def image_ref(service: str) -> str:
    return f"localhost/workshop/{service}:dev"


@check(id="l1-images", title=N_("the four images are built, with their labels"), step="build", points=2, timeout=0,
       hint=N_("Build them from the services folder: docker build -f services/<service>/Dockerfile "
       "-t localhost/workshop/<service>:dev services (Step 2 builds all four in one loop)."), docs=f"{DOCS}#step-2-build-the-four-images")
def check_images(engine, services):
    with verify() as v:
        for service in services:
            v.match(engine.inspect_image(image_ref(service)), {"Config": {"Labels": {
                "io.workshop.service": service, "org.opencontainers.image.title": service}}},
                ref=f"image/{image_ref(service)}")


def running(engine, service: str, v) -> dict | None:
    """The running container of ``service``, or None with a mismatch recorded."""
    containers = engine.containers_of(image_ref(service))
    if not containers:
        v.fail(f"container of {image_ref(service)}", "<a running container>", "<none running>")
        return None
    return containers[0]


@check(id="l1-running", title=N_("a container of each image is running"), step="compose", points=2, timeout=5,
       hint=N_("Start the application: docker compose up -d (docker compose ps shows what runs; "
       "docker compose logs <service> says why one stopped)."), docs=f"{DOCS}#step-4-run-the-application-with-compose")
def check_running(engine, services):
    with verify() as v:
        for service in services:
            running(engine, service, v)


@check(id="l1-non-root", title=N_("every container runs as the non-root user 10001"), step="compose", timeout=0,
       hint=N_("Keep `USER 10001:10001` in the Dockerfile and do not override it (no `user: root` in compose.yaml), "
       "then rebuild: docker compose up -d --build"), docs=f"{DOCS}#step-1-read-a-dockerfile")
def check_non_root(engine, services, testinfra_host):
    with verify() as v:
        for service in services:
            container = running(engine, service, v)
            if container is None:
                continue
            uid = testinfra_host(engine.testinfra_spec(container)).user().uid  # `id` inside the container
            if uid != 10001:
                v.fail(f"container/{container['Name'].lstrip('/')}.uid", 10001, uid)


@check(id="l1-healthy", title=N_("every container passes its health check"), step="compose", timeout=5,
       hint=N_("A container that fails its health check says why in its log: docker compose logs <service>. "
       "Most often a data folder it cannot write (keep the volume on /data)."), docs=f"{DOCS}#troubleshooting")
def check_healthy(engine, services, testinfra_host):
    with verify() as v:
        for service in services:
            container = running(engine, service, v)
            if container is None:
                continue
            name = container["Name"].lstrip("/")
            status = health_status(container)
            if status == "healthy":
                continue
            if status == "unhealthy":
                v.fail(f"container/{name}.State.Health.Status", "healthy", status)
                continue
            # "starting" or no status: an engine without a health scheduler (Podman without
            # systemd) never runs the check by itself, so run the image's own check inside.
            command = health_command(engine.inspect_image(image_ref(service)) or {})
            if command is None:
                v.fail(f"image/{image_ref(service)}.Config.Healthcheck", "<a HEALTHCHECK>", "<none>")
            elif testinfra_host(engine.testinfra_spec(container)).run(command).rc != 0:
                v.fail(f"container/{name}.healthcheck", "exit status 0", "non-zero")


@check(id="l1-gateway", title=N_("the gateway answers with all four hops"), step="compose", points=2, timeout=10,
       hint=N_("Open http://127.0.0.1:8080/: a hop that is missing or not 200 names the service to look at "
       "(docker compose ps, then docker compose logs <service>)."), docs=f"{DOCS}#step-4-run-the-application-with-compose")
def check_gateway(services):
    url = f"{GATEWAY_URL}/api/customers/1/summary"
    with verify() as v:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError) as error:
            v.fail(url, "an answer", f"no answer ({error})")
            return
        hops = {hop.get("service"): hop.get("status") for hop in body.get("trace", [])}
        for service in services:
            if hops.get(service) != 200:
                v.fail(f"{url} trace[{service}].status", 200, hops.get(service, "<no hop>"))
