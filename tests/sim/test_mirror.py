"""The local release mirror (workshop/sim/mirror.py): known release URLs come from local files
through HTTPS, as curl and kubectl fetch them on a page; anything else is refused at once, and
the mirror never opens a connection or looks up a name."""

import json
import os
import socket
import subprocess
import sys
import threading
import uuid

import pytest

from workshop.sim.mirror import Mirror

RELEASE_URL = "https://github.com/kubernetes-sigs/example/releases/download/v1.2.3/components.yaml"
UNKNOWN_URL = "https://example.org/not/a/release.yaml"
# What would send a packet out: a connection, a datagram, a name lookup (Python's audit events).
OUTBOUND_EVENTS = {"socket.connect", "socket.sendto", "socket.getaddrinfo", "socket.gethostbyname",
                   "socket.gethostbyaddr"}
_seen: list[tuple[str, str, tuple]] = []
_watching = threading.Event()


def _audit(event, args):
    if _watching.is_set() and event in OUTBOUND_EVENTS:
        _seen.append((event, threading.current_thread().name, args))


sys.addaudithook(_audit)  # hooks cannot be removed: this one records only while _watching is set


@pytest.fixture
def release(tmp_path):
    path = tmp_path / "components.yaml"
    name = f"mirrored-{uuid.uuid4().hex[:6]}"
    path.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  from: mirror\n")
    return name, path


@pytest.fixture
def mirror(tmp_path, release):
    asked = []

    def resolver(url):
        asked.append(url)
        return release[1] if url == RELEASE_URL else None

    with Mirror(tmp_path / "mirror", resolver=resolver) as running:
        running.asked = asked
        yield running


def _curl(mirror, *args):
    return subprocess.run(["curl", "-sS", *args], env={**os.environ, **mirror.env()}, capture_output=True, text=True,
                          timeout=30)


def test_curl_gets_a_known_release_file_over_https(mirror, release):
    result = _curl(mirror, "-fL", RELEASE_URL)
    assert result.returncode == 0, result.stderr
    assert result.stdout == release[1].read_text()
    assert mirror.served == [RELEASE_URL]


def test_kubectl_applies_a_manifest_from_an_https_url(mirror, release, kubeconfig, namespace):
    env = {**os.environ, **mirror.env(), "KUBECONFIG": str(kubeconfig)}
    applied = subprocess.run(["kubectl", "-n", namespace, "apply", "-f", RELEASE_URL], env=env, capture_output=True,
                             text=True, timeout=60)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == f"configmap/{release[0]} created"
    stored = subprocess.run(["kubectl", "-n", namespace, "get", "configmap", release[0], "-o", "json"], env=env,
                            capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(stored.stdout)["data"] == {"from": "mirror"}
    assert RELEASE_URL in mirror.served


def test_an_unknown_url_is_refused_and_nothing_leaves(mirror):
    _seen.clear()
    _watching.set()
    try:
        result = _curl(mirror, "-f", UNKNOWN_URL)
    finally:
        _watching.clear()
    assert result.returncode == 22, result  # curl -f: HTTP error
    assert "404" in result.stderr
    assert mirror.asked == [UNKNOWN_URL]
    assert "is not in the local release mirror" in mirror.refused[0] and "never connects upstream" in mirror.refused[0]
    assert _seen == [], f"the mirror reached out: {_seen}"


def test_the_outbound_watch_sees_a_connection_when_there_is_one(mirror):
    """The proof above means something: the same watch catches a connect from another thread."""
    port = int(mirror.url.rsplit(":", 1)[1])
    _seen.clear()
    _watching.set()
    try:
        thread = threading.Thread(target=lambda: socket.create_connection(("127.0.0.1", port), timeout=5).close())
        thread.start()
        thread.join(10)
    finally:
        _watching.clear()
    assert any(event == "socket.connect" for event, _, _ in _seen), _seen


def test_plain_http_through_the_proxy_is_refused(mirror):
    result = subprocess.run(["curl", "-sS", "-x", mirror.url, "-w", "%{http_code}", "http://example.org/x"],
                            capture_output=True, text=True, timeout=30)
    assert result.stdout.endswith("502"), result
    assert "never connects anywhere" in result.stdout


def test_without_the_releases_module_the_mirror_serves_nothing_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "workshop.sim.releases", None)  # import fails as on a branch without it
    with Mirror(tmp_path / "mirror") as bare:
        assert "workshop.sim.releases is not available" in bare.problem
        result = _curl(bare, "-f", RELEASE_URL)
    assert result.returncode == 22 and "502" in result.stderr
    assert "workshop.sim.releases is not available" in bare.refused[0]
