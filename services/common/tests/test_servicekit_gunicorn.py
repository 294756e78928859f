"""Under real gunicorn with the images' settings: SIGTERM drains in-flight requests and exits in time."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

SERVICES = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def workers():
    return "1"


@pytest.fixture
def gunicorn(tmp_path, workers):
    port = free_port()
    (tmp_path / "prometheus").mkdir()
    # A slow endpoint lets a request be in flight when SIGTERM arrives.
    (tmp_path / "slowapp.py").write_text(
        "import time\nfrom account import create_app\nfrom servicekit.app import kit\napp = create_app()\n"
        "@app.get('/slow')\ndef slow():\n    time.sleep(1.5)\n    return {'draining': kit(app).draining.is_set()}\n")
    env = {**os.environ, "PORT": str(port), "DATA_DIR": str(tmp_path), "POD_NAME": "g", "WEB_CONCURRENCY": workers,
           "PYTHONPATH": os.pathsep.join([str(SERVICES / "common"), str(SERVICES / "account"), str(tmp_path)])}
    if workers != "1":  # prometheus_client switches mode on the variable's mere presence
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "prometheus")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "python:servicekit.gunicorn_conf",
                             "slowapp:app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/readyz", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.1)
    yield proc, url
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    proc.stderr.close()


def test_sigterm_finishes_in_flight_requests_then_exits(gunicorn):
    proc, url = gunicorn
    result = {}
    inflight = threading.Thread(target=lambda: result.update(r=requests.get(url + "/slow", timeout=10)))
    inflight.start()
    time.sleep(0.3)
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(15)
    inflight.join(5)
    assert code == 0 and time.monotonic() - start < 10
    # Answered, and by then the app knew it was draining (so /readyz said 503).
    assert result["r"].status_code == 200 and result["r"].json() == {"draining": True}
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/healthz", timeout=1)


@pytest.mark.parametrize("workers", ["2"])
def test_metrics_add_up_across_worker_processes(gunicorn):
    _, url = gunicorn
    session = requests.Session()
    for _ in range(10):
        assert session.get(url + "/accounts/1", timeout=5).ok
    session.close()
    metrics = requests.get(url + "/metrics", timeout=5).text
    line = next(x for x in metrics.splitlines() if x.startswith('http_requests_total{') and '/accounts/' in x)
    assert line.endswith(" 10.0")
