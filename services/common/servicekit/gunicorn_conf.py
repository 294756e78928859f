"""Gunicorn settings shared by every service image (and by `make bench-app`).

    gunicorn --config python:servicekit.gunicorn_conf 'account:create_app()'

One worker process by default, serving every connection in a greenlet (servicekit.worker says
why gevent): the services wait on the network far more than they compute, and one process keeps
Prometheus metrics simple. Set WEB_CONCURRENCY>1 for more processes; metrics then go through
PROMETHEUS_MULTIPROC_DIR.
"""

import os
import signal
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "servicekit.worker.GeventWorker"
# Open connections per worker; past this, new ones wait in the listen backlog.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "1000"))
keepalive = 15  # non-zero: keep-alive on (the idle limit is servicekit.worker.HEADER_TIMEOUT)
timeout = 30
# SIGTERM: answer /readyz 503 for DRAIN_SECONDS while still serving (so endpoints and load
# balancers stop sending here), then stop accepting, let in-flight requests finish, and exit
# before Kubernetes' patience (and 10 s) runs out.
drain_seconds = float(os.environ.get("DRAIN_SECONDS", "2"))
graceful_timeout = 7
accesslog = None  # each service logs one JSON line per request itself
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
control_socket_disable = True  # it would write to $HOME, which is read-only in the image
worker_tmp_dir = os.environ.get("GUNICORN_TMP_DIR", tempfile.gettempdir())

if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Must be set before any worker imports prometheus_client.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")


def post_worker_init(worker):
    """Wrap gunicorn's SIGTERM handler: flag the app as draining first, so /readyz says 503,
    and keep serving for drain_seconds before gunicorn stops accepting."""
    stop = worker.handle_exit

    def on_sigterm(signum, frame):
        kit = getattr(worker.wsgi, "extensions", {}).get("servicekit")
        if kit is not None:
            kit.draining.set()
        # A greenlet: a signal handler runs in gevent's loop and must not block.
        import gevent

        gevent.spawn_later(drain_seconds, stop, signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
