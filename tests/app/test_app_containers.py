"""The sample app as real containers: podman builds the images from the services' own
Dockerfiles and runs the chain gateway -> customer -> order -> account on a podman network.

Needs podman (scripts/containers/setup.sh installs it; `make test` runs that first).
Outside CI a machine without podman skips these tests, saying so; with CI=true it fails.
"""

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.containers, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "containers"
CHAIN = ["account", "order", "customer", "gateway"]


def podman_env() -> dict:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO / ".cache" / "containers" / "containers.conf"))
    return env


def podman(*args, check=True, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=podman_env(), capture_output=True, text=True,
                          check=check, timeout=timeout)


@pytest.fixture(scope="module")
def images():
    problem = None
    if shutil.which("podman") is None:
        problem = "podman is not installed (run scripts/containers/setup.sh, or `make containers-setup`)"
    elif podman("info", check=False).returncode != 0:
        problem = "podman is installed but cannot run containers here (see scripts/containers/setup.sh)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(f"SKIPPING CONTAINER TESTS: {problem}")
    # Layers are cached, so this is quick when nothing changed, and always tests the current code.
    subprocess.run([str(SCRIPTS / "build.sh"), *CHAIN], env=podman_env(), check=True, timeout=900)
    # IMAGE_REPO as in scripts/containers/lib.sh (another repo keeps a parallel run's images apart).
    repo = os.environ.get("IMAGE_REPO") or "localhost/workshop"
    return {s: f"{repo}/{s}:dev" for s in CHAIN}


class App:
    """The four containers of one test run, on their own network, with named volumes."""

    def __init__(self, images):
        self.id = uuid.uuid4().hex[:8]
        self.net = f"workshop-e2e-{self.id}"
        self.images = images
        self.url = None

    def name(self, service):
        return f"e2e-{self.id}-{service}"

    def run(self, service, **env):
        args = ["run", "-d", "--name", self.name(service), "--network", self.net, "--network-alias", service,
                # The restricted profile the Kubernetes manifests use: read-only root, no capabilities.
                "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "-e", f"POD_NAME={service}-{self.id}"]
        if service != "gateway":
            args += ["-v", f"{self.name(service)}-data:/data"]
        else:
            args += ["-p", "127.0.0.1::8080"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        podman(*args, self.images[service])

    def start(self):
        podman("network", "create", self.net)
        self.run("account", SERVICE_VERSION="v2")
        self.run("order")
        self.run("customer")
        self.run("gateway", OUTBOUND_TIMEOUT_SECONDS="2")
        port = podman("port", self.name("gateway"), "8080/tcp").stdout.strip().rsplit(":", 1)[1]
        self.url = f"http://127.0.0.1:{port}"
        self.wait_for(lambda: self.summary()["missing"] == [])

    def summary(self, customer_id=1):
        return requests.get(f"{self.url}/api/customers/{customer_id}/summary", timeout=10).json()

    def wait_for(self, condition, seconds=60):
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except (requests.RequestException, ValueError, KeyError) as exc:
                last = exc
            time.sleep(0.5)
        logs = {s: podman("logs", "--tail", "20", self.name(s), check=False).stdout for s in CHAIN}
        raise AssertionError(f"timed out (last error: {last!r}); logs: {json.dumps(logs, indent=1)}")

    def stop(self):
        for service in CHAIN:
            podman("rm", "-f", "-t", "0", self.name(service), check=False)
        for service in CHAIN[:-1]:
            podman("volume", "rm", "-f", f"{self.name(service)}-data", check=False)
        podman("network", "rm", "-f", self.net, check=False)


@pytest.fixture(scope="module")
def app(images):
    app = App(images)
    try:
        app.start()
        yield app
    finally:
        app.stop()


def test_images_are_labelled_and_non_root(images):
    for service, image in images.items():
        config = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
        assert config["User"] == "10001:10001"
        assert config["Labels"]["io.workshop.service"] == service
        assert config["Labels"]["org.opencontainers.image.title"] == service
        assert "Healthcheck" in config or "HealthCheck" in config or podman(
            "image", "inspect", "--format", "{{.HealthCheck}}", image).stdout.strip() not in ("", "<nil>")


def test_pip_stays_in_the_build_stage(images):
    # Level 1 says so: the venv copied into the runtime image holds the dependencies, not pip.
    for service, image in images.items():
        listing = podman("run", "--rm", "--entrypoint", "ls", image, "/venv/bin").stdout.split()
        assert "gunicorn" in listing, f"{image}: /venv/bin lacks gunicorn: {listing}"
        assert not [name for name in listing if name.startswith("pip")], f"{image} still carries pip: {listing}"


def test_gateway_page_shows_all_four_hops_with_versions(app):
    trace = app.summary()["trace"]
    assert [(h["service"], h["version"], h["status"]) for h in trace] == [
        ("gateway", "v1", 200), ("customer", "v1", 200), ("order", "v1", 200), ("account", "v2", 200)]
    assert [h["pod"] for h in trace] == [f"{s}-{app.id}" for s in ["gateway", "customer", "order", "account"]]
    html = requests.get(app.url + "/", timeout=10).text
    assert re.findall(r'data-service="(\w+)" data-version="(v\d)"', html) == [
        ("gateway", "v1"), ("customer", "v1"), ("order", "v1"), ("account", "v2")]
    assert "loyalty points" in html


def test_healthcheck_runs_in_the_image(app):
    result = podman("healthcheck", "run", app.name("account"), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_order_is_charged_once_per_idempotency_key(app):
    before = app.summary(2)["account"]["balance_cents"]
    headers = {"Idempotency-Key": f"e2e-{app.id}"}
    answers = [requests.post(f"{app.url}/api/customers/2/orders", json={"item": "tea", "quantity": 1},
                             headers=headers, timeout=10) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["order"] == answers[1].json()["order"]
    assert app.summary(2)["account"]["balance_cents"] == before - 300


def test_account_down_degrades_the_page_and_restart_keeps_data(app):
    balance = app.summary(2)["account"]["balance_cents"]
    start = time.monotonic()
    podman("stop", "-t", "15", app.name("account"))
    stopped_in = time.monotonic() - start
    exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", app.name("account")).stdout.strip()
    # SIGTERM: gunicorn drains and exits by itself (0), well before podman's SIGKILL.
    assert stopped_in < 10 and exit_code == "0"

    page = requests.get(f"{app.url}/?customer_id=2", timeout=10)
    assert page.status_code == 200
    assert "account unavailable" in page.text and "Grace Hopper" in page.text
    body = app.summary(2)
    assert body["missing"] == ["account"] and body["trace"][-1]["status"] is None

    podman("start", app.name("account"))
    app.wait_for(lambda: app.summary(2)["missing"] == [])
    assert app.summary(2)["account"]["balance_cents"] == balance
