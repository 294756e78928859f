"""Outbound calls over real HTTP: tracing headers forwarded, timeouts and refusals as values."""

import time

from flask import Flask, request

from servicekit.outbound import TRACE_HEADERS, Downstream
from servicekit.testing import live

B3 = {
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "tracestate": "congo=t61rcWkgMzE",
    "x-b3-traceid": "0af7651916cd43dd8448eb211c80319c", "x-b3-spanid": "b7ad6b7169203331",
    "x-b3-parentspanid": "a2fb4a1d1a96d312", "x-b3-sampled": "1", "x-b3-flags": "0",
    "b3": "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1", "x-ot-span-context": "abc",
    "x-request-id": "req-42", "baggage": "tester=true", "x-workshop-user": "alice",
}


def echo_app() -> Flask:
    app = Flask("echo")

    @app.get("/headers")
    def headers():
        return {k.lower(): v for k, v in request.headers.items()}

    @app.get("/slow")
    def slow():
        time.sleep(1.0)
        return {"late": True}

    return app


def front_app(echo_url: str, timeout: float = 2.0) -> tuple[Flask, Downstream]:
    """A service that calls echo: what it forwards is what a real hop would forward."""
    from flask import g

    app = Flask("front")
    link = Downstream("echo", echo_url, timeout, user_agent="test")

    @app.get("/call/<path:path>")
    def call(path):
        g.request_id = request.headers.get("x-request-id", "generated")
        reply = link.call("GET", f"/{path}")
        return {"status": reply.status, "body": reply.body, "error": reply.error, "hops": reply.hops()}

    return app, link


def test_every_tracing_header_is_forwarded():
    with live(echo_app()) as echo_url:
        app, link = front_app(echo_url)
        body = app.test_client().get("/call/headers", headers=B3).get_json()
        link.close()
    seen = body["body"]
    assert {name: seen.get(name) for name in TRACE_HEADERS} == B3


def test_timeout_is_a_value_with_a_hop_saying_so():
    with live(echo_app()) as echo_url:
        app, link = front_app(echo_url, timeout=0.2)
        start = time.perf_counter()
        body = app.test_client().get("/call/slow").get_json()
        elapsed = time.perf_counter() - start
        link.close()
    assert body["status"] is None and body["error"] == "timed out after 0.2s" and elapsed < 0.9
    assert body["hops"][0]["service"] == "echo" and body["hops"][0]["status"] is None


def test_connection_refused_is_a_value():
    app, link = front_app("http://127.0.0.1:9")
    body = app.test_client().get("/call/headers").get_json()
    link.close()
    assert body["status"] is None and body["error"].startswith("unreachable")


def test_a_hop_gives_its_next_hop_less_time_than_it_was_given():
    """Issue 20, item 3: with X-Deadline-Ms the deepest hop gives up first, leaving time to answer."""
    from servicekit.outbound import DEADLINE_HEADER, HOP_RESERVE_SECONDS

    with live(echo_app()) as echo_url:
        app, link = front_app(echo_url, timeout=2.0)

        @app.before_request
        def _deadline():  # what servicekit's instrument() does for every service
            from flask import g

            from servicekit.outbound import read_deadline
            g.start = time.perf_counter()
            g.deadline = read_deadline(g.start)

        client = app.test_client()
        seen = client.get("/call/headers", headers={DEADLINE_HEADER: "800"}).get_json()["body"]
        start = time.perf_counter()
        slow = client.get("/call/slow", headers={DEADLINE_HEADER: "600"}).get_json()
        elapsed = time.perf_counter() - start
        no_deadline = client.get("/call/headers").get_json()["body"]
        link.close()
    assert 0 < int(seen[DEADLINE_HEADER.lower()]) <= 800 - HOP_RESERVE_SECONDS * 1000
    assert slow["status"] is None and slow["error"].startswith("timed out after 0.3") and elapsed < 0.6
    assert no_deadline[DEADLINE_HEADER.lower()] == "2000"  # no caller deadline: the link's own timeout
