"""Gunicorn settings shared by every service image (and by `make bench-app`).

    gunicorn --config python:servicekit.gunicorn_conf 'account:create_app()'

One worker process with threads by default: the services wait on the network far more than
they compute, threads are cheap in memory, and one process keeps Prometheus metrics simple.
Set WEB_CONCURRENCY>1 for more processes; metrics then go through PROMETHEUS_MULTIPROC_DIR.
"""

import os
import signal
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = 15  # seconds an idle keep-alive connection from the caller stays open
timeout = 30
# SIGTERM: stop accepting, let in-flight requests finish, exit before Kubernetes' patience (and 10 s) runs out.
graceful_timeout = 8
accesslog = None  # each service logs one JSON line per request itself
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
control_socket_disable = True  # it would write to $HOME, which is read-only in the image
worker_tmp_dir = os.environ.get("GUNICORN_TMP_DIR", tempfile.gettempdir())

if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Must be set before any worker imports prometheus_client.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")


def post_worker_init(worker):
    """Wrap gunicorn's SIGTERM handler: flag the app as draining first, so /readyz says 503."""
    stop = worker.handle_exit

    def on_sigterm(signum, frame):
        kit = getattr(worker.wsgi, "extensions", {}).get("servicekit")
        if kit is not None:
            kit.draining.set()
        stop(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
