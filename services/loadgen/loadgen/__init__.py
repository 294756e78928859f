"""loadgen: traffic for dashboards and meshes. Paced in the background (LOADGEN_RATE), or a burst on demand.

Settings (environment): TARGET_URL (http://gateway:8080), LOADGEN_RATE (requests/s, 2; 0 = idle),
LOADGEN_DURATION_SECONDS (0 = until stopped), LOADGEN_COUNT (0 = no limit), LOADGEN_CONCURRENCY (4),
LOADGEN_PATHS (comma-separated paths of the target).
"""

import threading
from collections import Counter

from flask import Blueprint, jsonify, request

from servicekit.app import build_app, kit
from servicekit.config import ConfigError, load, number
from servicekit.errors import ApiError
from servicekit.validation import integer, json_object

from loadgen import openapi, traffic

DEFAULT_PATHS = "/api/customers/1/summary,/api/customers/2/summary,/api/customers/3/summary,/"
bp = Blueprint("loadgen", __name__)


def settings(environ) -> dict:
    paths = [p.strip() for p in (environ.get("LOADGEN_PATHS") or DEFAULT_PATHS).split(",") if p.strip()]
    if not paths or not all(p.startswith("/") for p in paths):
        raise ConfigError("LOADGEN_PATHS must be comma-separated paths starting with /")
    return {
        "target": (environ.get("TARGET_URL") or "http://gateway:8080").rstrip("/"),
        "rate": number(environ, "LOADGEN_RATE", 2.0, float),
        "duration": number(environ, "LOADGEN_DURATION_SECONDS", 0.0, float),
        "count": number(environ, "LOADGEN_COUNT", 0, int),
        "concurrency": max(1, number(environ, "LOADGEN_CONCURRENCY", 4, int)),
        "paths": paths,
    }


class Runner:
    """The background paced run and the latest burst, as the HTTP endpoints see them."""

    def __init__(self, s: dict):
        self.settings, self.stop = s, threading.Event()
        self.paced = traffic.Stats()
        self.burst: traffic.Stats | None = None
        self.burst_lock = threading.Lock()
        # Who answered GET /calls since the start ({"west/account-...": 3}): what a check reads to
        # know that a call from here was ever served by another cluster.
        self.answered_by: Counter = Counter()
        self.answered_lock = threading.Lock()

    def start(self) -> None:
        s = self.settings
        if s["rate"] > 0:
            threading.Thread(target=traffic.paced, daemon=True, name="loadgen", kwargs=dict(
                base_url=s["target"], paths=s["paths"], rate=s["rate"], duration=s["duration"], count=s["count"],
                concurrency=s["concurrency"], stop=self.stop, stats=self.paced)).start()

    def start_burst(self, count: int, concurrency: int) -> bool:
        if not self.burst_lock.acquire(blocking=False):
            return False

        def run():
            try:
                self.burst = traffic.Stats()
                result = traffic.burst(self.settings["target"], self.settings["paths"], count, concurrency)
                self.burst = result
            finally:
                self.burst_lock.release()

        threading.Thread(target=run, daemon=True, name="loadgen-burst").start()
        return True


@bp.get("/stats")
def stats():
    runner: Runner = kit().runner
    return jsonify(target=runner.settings["target"], rate=runner.settings["rate"],
                   paced=runner.paced.summary(), burst=runner.burst.summary() if runner.burst else None)


@bp.get("/calls")
def calls():
    """Call the target now, COUNT times one after another (?count=1..20, default 8): who answered each."""
    raw = request.args.get("count", "8")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 20:
        raise ApiError(400, "invalid parameter", "count must be an integer between 1 and 20")
    runner: Runner = kit().runner
    url = runner.settings["target"] + runner.settings["paths"][0]
    answers = traffic.who_answers(url, int(raw))
    with runner.answered_lock:
        runner.answered_by.update(answer["pod"] for answer in answers if answer["pod"])
        answered_by = dict(runner.answered_by)
    return jsonify(url=url, answers=answers, answered_by=answered_by)


@bp.post("/bursts")
def start_burst():
    """Send a burst now (in the background): e.g. {"count": 500, "concurrency": 20} to wake an autoscaler."""
    body = json_object()
    count = integer(body, "count", maximum=10_000)
    concurrency = integer(body, "concurrency", maximum=50, required=False) or 10
    if not kit().runner.start_burst(count, concurrency):
        raise ApiError(409, "burst running", "wait for the current burst to finish (see GET /stats)")
    return jsonify(status="started", count=count, concurrency=concurrency), 202


def create_app(config=None):
    cfg = load("loadgen", config)
    app = build_app("loadgen", cfg, openapi=openapi.DOCUMENT)
    runner = Runner(settings(cfg.environ))
    kit(app).runner = runner
    app.register_blueprint(bp)
    runner.start()
    return app
