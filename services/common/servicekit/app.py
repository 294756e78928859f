"""build_app(): the Flask app every service starts from, with the shared endpoints wired in.

    app = build_app("account", config, openapi=spec, schema=SCHEMA, seed=seed)
    app.register_blueprint(accounts)
"""

import re
import sqlite3
import threading
import time
from datetime import datetime, timezone
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app, g, jsonify, request

from servicekit.config import Config
from servicekit.errors import ApiError, error_response, register_error_handlers
from servicekit.observability import Metrics, instrument, logger_for
from servicekit.outbound import Downstream, Reply
from servicekit.storage import Database, open_database


@dataclass
class Kit:
    """What a handler reaches through ``current_app.extensions["servicekit"]``."""

    config: Config
    metrics: Metrics
    db: Database | None = None  # or a servicekit.postgres.PostgresDatabase
    downstream: dict[str, Downstream] = field(default_factory=dict)
    # Set on SIGTERM (see gunicorn_conf): /readyz answers 503 so no new traffic is routed here.
    draining: threading.Event = field(default_factory=threading.Event)
    # Called by close(): background loops a service starts (order's settler) stop here.
    on_close: list[Callable[[], None]] = field(default_factory=list)
    # The public edge (the gateway): what an ingress forwards from outside sees no internals.
    edge: bool = False


# Level 5's ingress gateway checks the user's token and passes their name on in this header
# (RequestAuthentication's outputClaimToHeaders); each hop passes it on and names the user in
# its line of the route trace. The services trust it because only the mesh can call them.
USER_HEADER = "X-Workshop-User"
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def signed_in_user() -> str | None:
    """The user the request names, if any; a 400 for a value no issuer would sign."""
    user = request.headers.get(USER_HEADER)
    if user is None:
        return None
    if not USER_NAME.fullmatch(user):
        raise ApiError(400, f"invalid {USER_HEADER} header",
                       "a user name: up to 64 letters, digits, '.', '_', '@' or '-'")
    return user


def through_proxy() -> bool:
    """The request was forwarded by an ingress or load balancer (it says whom it came from)."""
    return "X-Forwarded-For" in request.headers or "Forwarded" in request.headers


def build_app(
    service: str,
    config: Config,
    *,
    openapi: dict,
    schema: str | None = None,
    postgres_schema: str | None = None,
    seed: Callable[[sqlite3.Connection], None] | None = None,
    downstream: tuple[str, ...] = (),
    edge: bool = False,
) -> Flask:
    app = Flask(service)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False  # keep fields in the order a reader expects
    kit = Kit(config=config, metrics=Metrics(), edge=edge)
    app.extensions["servicekit"] = kit
    if schema is not None:
        kit.db = open_database(config, service, schema, postgres_schema, seed or (lambda conn: None))
        if kit.db.dialect == "postgres":
            from servicekit.postgres import Unavailable

            # The database went away mid-request (restart, failover): 503, and /readyz says so too.
            app.register_error_handler(Unavailable, lambda exc: error_response(
                503, "storage unavailable", "the database did not answer; retry later"))
    for name in downstream:
        link = Downstream(name, getattr(config, f"{name}_url"), config.outbound_timeout,
                          user_agent=f"workshop-{service}/{config.version}")
        link.observe = kit.metrics.observe_outbound
        kit.downstream[name] = link
    register_error_handlers(app)
    instrument(app, kit.metrics, logger_for(service, config.log_level))
    app.before_request(lambda: setattr(g, "user", signed_in_user()))
    _register_probes(app, kit, openapi)
    return app


def _register_probes(app: Flask, kit: Kit, openapi: dict) -> None:
    @app.get("/healthz")
    def healthz():
        # Liveness: the process answers. Nothing downstream is checked, or one slow
        # dependency would make Kubernetes restart every service above it.
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        if kit.draining.is_set():
            return jsonify(status="draining"), 503
        if kit.db is not None and not kit.db.ping():
            return jsonify(status="storage unavailable"), 503
        return {"status": "ready"}

    def internal():
        # At the edge, metrics and the API contract are for the cluster (Prometheus, a
        # port-forward), not for whoever reaches the gateway through the ingress.
        if kit.edge and through_proxy():
            raise ApiError(404, "not found", "not served through the ingress")

    @app.get("/metrics")
    def metrics():
        internal()
        return kit.metrics.exposition()

    @app.get("/openapi.json")
    def openapi_json():
        internal()
        return jsonify(openapi)


def kit(app: Flask | None = None) -> Kit:
    """The Kit of ``app``, or of the app serving the current request."""
    return (app or current_app).extensions["servicekit"]


def now() -> str:
    """UTC timestamp for stored rows, to the second (ISO 8601)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hop(config: Config, status: int) -> dict:
    """This service's own line in the route trace: who answered, and how long it took."""
    return {
        "service": config.service,
        "version": config.version,
        "pod": config.pod_name,
        "status": status,
        "latency_ms": round((time.perf_counter() - g.start) * 1000, 1),
        **({"user": g.user} if g.get("user") else {}),
    }


def traced(config: Config, body: dict, status: int = 200, downstream: list[dict] | None = None):
    """A JSON response whose ``trace`` lists this hop first, then the hops it called."""
    body["trace"] = [hop(config, status), *(downstream or [])]
    return jsonify(body), status


def relay(config: Config, reply: Reply, what: str):
    """Pass a downstream's answer to a write on up the chain, with this hop added to its trace.

    No answer, or a 5xx without a JSON body, becomes ``503 {what} unavailable``: never a 500.
    """
    body = reply.body if isinstance(reply.body, dict) else None
    if reply.status is None or reply.status >= 500 and not (reply.status == 503 and body):
        return traced(config, {"error": f"{what} unavailable", "detail": reply.error}, 503, reply.hops())
    answer = dict(body) if body else {"error": f"{what} failed", "detail": reply.error}
    answer.pop("trace", None)
    response = traced(config, answer, reply.status, reply.hops())
    if reply.headers.get("Idempotent-Replayed"):
        response[0].headers["Idempotent-Replayed"] = "true"
    return response


def close(app: Flask) -> None:
    """Release files and sockets (tests create many apps in one process)."""
    k = kit(app)
    for stop in k.on_close:
        stop()
    if k.db is not None:
        k.db.close()
    for link in k.downstream.values():
        link.close()
