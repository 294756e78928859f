"""The gunicorn worker every service runs: gevent, with bounded reads and JSON errors.

    gunicorn --worker-class servicekit.worker.GeventWorker ...   (set in gunicorn_conf)

Why gevent and not gthread: a gthread worker has a fixed number of threads, and a thread that
has read one byte of a request waits on that socket. Eight clients that stall mid-request took
all eight threads and /healthz stopped answering. With gevent every connection is a greenlet,
so a stalled client holds a few kilobytes, not a thread, and probes are never queued behind
slow requests or slow next hops.

Why the read timeouts: a stalled connection must still end. gunicorn bounds the wait for the
headers with ``timeout_ctx`` (REQUEST_HEADER_TIMEOUT_SECONDS here); each read of the body is
bounded by the socket timeout (REQUEST_BODY_TIMEOUT_SECONDS), after which the app answers 408.
"""

import json
import os

from gunicorn import util
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker as _GeventWorker


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw else default


HEADER_TIMEOUT = _seconds("REQUEST_HEADER_TIMEOUT_SECONDS", 10.0)
BODY_TIMEOUT = _seconds("REQUEST_BODY_TIMEOUT_SECONDS", 10.0)


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn's own answers (bad request line, too many headers, ...) as JSON, like the apps'."""
    body = json.dumps({"error": reason.lower(), "detail": mesg or None}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


class GeventWorker(_GeventWorker):
    def init_process(self):
        # gunicorn writes its own errors with util.write_error (HTML): replace it in this worker.
        util.write_error = write_json_error
        super().init_process()

    def timeout_ctx(self):
        # Bounds both the wait for a request's headers and an idle keep-alive connection.
        import gevent

        return gevent.Timeout(HEADER_TIMEOUT, False)

    def handle(self, listener, client, addr):
        # gevent's handle() would make the socket blocking with no timeout: go to AsyncWorker's.
        client.settimeout(BODY_TIMEOUT)
        AsyncWorker.handle(self, listener, client, addr)
