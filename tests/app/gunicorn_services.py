"""The services as real gunicorn processes on 127.0.0.1, with the images' settings, for the
hostile-client tests: what an attacker or a chaos engineer reaches is the server, not Flask.

    with running(tmp_path, "account") as account:
        requests.get(account.url + "/healthz", timeout=2)
        account.pause()        # SIGSTOP the whole process group: a frozen peer
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "services"
START_TIMEOUT = 30  # seconds for a process to answer /healthz


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    url: str
    port: int
    log: Path

    def pause(self) -> None:
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.resume()
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def start(tmp_path: Path, name: str, replica: int = 0, **env) -> Service:
    """One process of ``name``; each ``replica`` number gets its own DATA_DIR, as a pod its emptyDir."""
    port = free_port()
    instance = f"{name}-{replica}" if replica else name
    log = tmp_path / f"{instance}.log"
    settings = {**os.environ, "PORT": str(port), "DATA_DIR": str(tmp_path / instance), "POD_NAME": f"{instance}-hostile",
                "PYTHONPATH": os.pathsep.join([str(SERVICES / "common"), str(SERVICES / name)]),
                **{k: str(v) for k, v in env.items()}}
    settings.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log, "wb") as out:
        # Its own process group: pause() freezes the master and its worker together.
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "python:servicekit.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", f"{name}:create_app()"],
            env=settings, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    service = Service(name, proc, f"http://127.0.0.1:{port}", port, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(service.url + "/healthz", timeout=1).ok:
                return service
        except requests.RequestException:
            time.sleep(0.1)
    service.stop()
    raise AssertionError(f"{name} did not answer /healthz within {START_TIMEOUT}s:\n{log.read_text()[-2000:]}")


@contextmanager
def running(tmp_path: Path, name: str, replica: int = 0, **env):
    service = start(tmp_path, name, replica, **env)
    try:
        yield service
    finally:
        service.stop()


@contextmanager
def chain(tmp_path: Path, **env):
    """account <- order <- customer <- gateway, each a gunicorn process; yields {name: Service}."""
    with ExitStack() as stack:
        account = stack.enter_context(running(tmp_path, "account", **env))
        order = stack.enter_context(running(tmp_path, "order", ACCOUNT_URL=account.url, **env))
        customer = stack.enter_context(running(tmp_path, "customer", ORDER_URL=order.url, **env))
        gateway = stack.enter_context(running(tmp_path, "gateway", CUSTOMER_URL=customer.url, **env))
        yield {"account": account, "order": order, "customer": customer, "gateway": gateway}


def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes as they are (no client library fixes them up); read one answer: until its
    Content-Length is in, or until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        answer = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
            head, sep, body = answer.partition(b"\r\n\r\n")
            length = [line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            if sep and length and len(body) >= int(length[0]):
                break
    return answer
