"""The database image (services/postgres): PostgreSQL from Debian's package, non-root on a
read-only root filesystem, a readiness check that runs a real query, a password over the network,
and data on its volume that outlives the container. Two account containers share it.
"""

import os
import subprocess
import time
import uuid

import pytest
import requests

from test_app_containers import SCRIPTS, podman, podman_env

pytestmark = [pytest.mark.containers, pytest.mark.slow]

PASSWORD = "not-the-default"


@pytest.fixture(scope="module")
def images():
    if subprocess.run(["podman", "info"], env=podman_env(), capture_output=True).returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("podman cannot run containers here")
        pytest.skip("SKIPPING CONTAINER TESTS: podman cannot run containers here")
    subprocess.run([str(SCRIPTS / "build.sh"), "postgres", "account"], env=podman_env(), check=True, timeout=900)
    repo = os.environ.get("IMAGE_REPO") or "localhost/workshop"
    return {s: f"{repo}/{s}:dev" for s in ("postgres", "account")}


class Pod:
    def __init__(self, images):
        self.id = uuid.uuid4().hex[:8]
        self.net, self.volume, self.images, self.names = f"db-{self.id}", f"db-{self.id}-data", images, []

    def run(self, name, image, *args, **env):
        full = f"db-{self.id}-{name}"
        flags = ["run", "-d", "--name", full, "--network", self.net, "--network-alias", name, "--read-only",
                 "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", *args]
        for key, value in env.items():
            flags += ["-e", f"{key}={value}"]
        podman(*flags, self.images[image])
        self.names.append(full)
        return full

    def database(self):
        return self.run("account-db", "postgres", "-v", f"{self.volume}:/var/lib/postgresql/data",
                        POSTGRES_USER="account", POSTGRES_DB="account", POSTGRES_PASSWORD=PASSWORD)

    def account(self, n):
        name = self.run(f"account-{n}", "account", "-p", "127.0.0.1::8080", POD_NAME=f"account-{n}",
                        DATABASE_URL="postgresql://account@account-db:5432/account", PGPASSWORD=PASSWORD)
        port = podman("port", name, "8080/tcp").stdout.strip().rsplit(":", 1)[1]
        return f"http://127.0.0.1:{port}"

    def remove(self, name):
        podman("rm", "-f", "-t", "10", name, check=False)
        self.names.remove(name)

    def close(self):
        for name in list(self.names):
            self.remove(name)
        podman("volume", "rm", "-f", self.volume, check=False)
        podman("network", "rm", "-f", self.net, check=False)


def ready(name, **env) -> bool:
    args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    return podman("exec", *args, name, "workshop-postgres-ready", check=False).returncode == 0


def wait_for(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def answers(url, path, status=200):
    try:
        return requests.get(url + path, timeout=5).status_code == status
    except requests.RequestException:
        return False


@pytest.fixture
def pod(images):
    pod = Pod(images)
    podman("network", "create", pod.net)
    try:
        yield pod
    finally:
        pod.close()


def test_image_is_labelled_and_non_root(images):
    out = podman("image", "inspect", "--format", "{{.Config.User}} {{index .Config.Labels \"io.workshop.service\"}}",
                 images["postgres"]).stdout.split()
    assert out == ["10001:10001", "postgres"]


def test_two_account_containers_share_one_database_that_outlives_its_container(pod):
    db = pod.database()
    wait_for(lambda: ready(db), "the database to answer a query")
    # The probe runs a query in the service's database: a database that does not exist is not ready.
    assert not ready(db, POSTGRES_DB="missing")
    # Over the network a password is required.
    wrong = podman("run", "--rm", "--network", pod.net, "-e", "PGPASSWORD=wrong", pod.images["postgres"],
                   "psql", "-h", "account-db", "-U", "account", "-d", "account", "-c", "SELECT 1", check=False)
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr

    a, b = pod.account(1), pod.account(2)
    wait_for(lambda: answers(a, "/readyz") and answers(b, "/readyz"), "both accounts ready")
    debit = {"amount_cents": 1234, "reference": f"order-1-{pod.id}"}
    first = requests.post(f"{a}/accounts/1/debits", json=debit, timeout=10)
    again = requests.post(f"{b}/accounts/1/debits", json=debit, timeout=10)
    assert (first.status_code, again.status_code) == (201, 200)
    balance = first.json()["balance_cents"]
    assert requests.get(f"{b}/accounts/1", timeout=5).json()["balance_cents"] == balance

    # The database's container goes (a drain, a crash): the services say they are not ready...
    pod.remove(db)
    wait_for(lambda: answers(a, "/readyz", 503), "account to report its storage unavailable")
    # ...and a new container on the same volume has every entry.
    db = pod.database()
    wait_for(lambda: answers(a, "/readyz") and answers(b, "/readyz"), "both accounts ready again")
    assert requests.get(f"{a}/accounts/1", timeout=5).json()["balance_cents"] == balance
