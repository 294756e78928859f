"""Request ids, one JSON log line per request, and Prometheus metrics.

Metrics are labelled by route *template* (``/accounts/<int:customer_id>``), never by the raw
path, so that a fuzzer or a scanner cannot create one time series per URL.
"""

import json
import logging
import os
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

from servicekit.outbound import read_deadline

# Any other method (a scanner's invention) is counted as "other": one series, not one per name.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(), "msg": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is now (test runners swap it), one line per record."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def logger_for(service: str, level: str) -> logging.Logger:
    logger = logging.getLogger(f"workshop.{service}")
    if not logger.handlers:
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
        # Errors logged by servicekit itself (unhandled exceptions) go the same way.
        kit = logging.getLogger("servicekit")
        if not kit.handlers:
            kit.addHandler(handler)
    logger.setLevel(level)
    # servicekit's own lines (retries, settlements, unhandled errors) at the service's level too.
    logging.getLogger("servicekit").setLevel(level)
    return logger


class Metrics:
    """The RED metrics of one app. Under gunicorn with several workers each process writes its
    own files in PROMETHEUS_MULTIPROC_DIR and a scrape adds them up (see gunicorn_conf)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "HTTP requests served", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to serve a request", ["method", "route"],
            buckets=BUCKETS, registry=self.registry,
        )
        self.outbound = Counter(
            "outbound_requests", "Calls made to other services", ["target", "status"], registry=self.registry
        )
        self.outbound_latency = Histogram(
            "outbound_request_duration_seconds", "Time until the other service answered", ["target"],
            buckets=BUCKETS, registry=self.registry,
        )

    def observe_outbound(self, target: str, status: int | None, seconds: float) -> None:
        self.outbound.labels(target, str(status) if status else "error").inc()
        self.outbound_latency.labels(target).observe(seconds)

    def exposition(self) -> Response:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def instrument(app: Flask, metrics: Metrics, logger: logging.Logger) -> None:
    kit = app.extensions["servicekit"]
    cfg = kit.config

    @app.before_request
    def _start():
        g.start = time.perf_counter()
        g.deadline = read_deadline(g.start)
        incoming = request.headers.get("X-Request-Id", "")
        # Keep the caller's id (Envoy sets one) so one id follows a request through every hop.
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _finish(response: Response):
        seconds = time.perf_counter() - g.get("start", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        method = request.method if request.method in METHODS else "other"
        metrics.requests.labels(method, route, str(response.status_code)).inc()
        metrics.latency.labels(method, route).observe(seconds)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers["X-Service"] = cfg.service
        response.headers["X-Service-Version"] = cfg.version
        if not (kit.edge and ("X-Forwarded-For" in request.headers or "Forwarded" in request.headers)):
            response.headers["X-Pod"] = cfg.pod_name  # which replica answered: internal, like /metrics
        # Probes and scrapes come every few seconds: log them only at DEBUG.
        quiet = route in ("/healthz", "/readyz", "/metrics") and response.status_code < 400
        logger.log(logging.DEBUG if quiet else logging.INFO, "request", extra={"fields": {
            "service": cfg.service, "version": cfg.version, "pod": cfg.pod_name,
            "request_id": g.get("request_id"), "method": request.method[:16], "path": request.path[:256],
            "route": route, "status": response.status_code, "duration_ms": round(seconds * 1000, 2),
        }})
        return response
