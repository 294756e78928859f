"""Paced and burst traffic against a real account service on 127.0.0.1."""

import time

import pytest

from loadgen import settings, traffic
from servicekit.config import ConfigError
from servicekit.testing import serve


def test_burst_sends_count_requests(tmp_path):
    with serve("account", tmp_path) as url:
        stats = traffic.burst(url, ["/accounts/1", "/accounts/2"], count=40, concurrency=4)
    s = stats.summary()
    assert s["sent"] == 40 and s["errors"] == 0 and s["statuses"] == {"200": 40}
    assert 0 < s["p50_ms"] <= s["p99_ms"]


def test_paced_respects_rate_and_count(tmp_path):
    with serve("account", tmp_path) as url:
        start = time.perf_counter()
        stats = traffic.paced(url, ["/accounts/1"], rate=20, count=10)
        elapsed = time.perf_counter() - start
    assert stats.sent == 10 and 0.4 < elapsed < 2.0


def test_unreachable_target_counts_errors():
    stats = traffic.burst("http://127.0.0.1:9", ["/"], count=3, concurrency=1, timeout=0.5)
    assert stats.errors == 3 and stats.statuses == {"error": 3}


@pytest.mark.parametrize("env", [{"LOADGEN_RATE": "fast"}, {"LOADGEN_COUNT": "-1"}, {"LOADGEN_PATHS": "api"}])
def test_bad_settings_are_named(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        settings(env)


def test_burst_endpoint_validates_and_reports(client):
    assert client.post("/bursts", json={"count": 0}).status_code == 400
    assert client.post("/bursts", json={"count": 2, "concurrency": 1}).status_code == 202
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (client.get("/stats").get_json()["burst"] or {}).get("sent", 0) < 2:
        time.sleep(0.05)
    assert client.get("/stats").get_json()["burst"]["errors"] == 2


def test_who_answers_names_the_pod_of_each_answer(tmp_path):
    with serve("account", tmp_path, POD_NAME="west/account-7d9f") as url:
        answers = traffic.who_answers(url + "/accounts/1", count=3)
    assert answers == [{"status": 200, "pod": "west/account-7d9f"}] * 3


def test_calls_endpoint_validates_and_remembers_who_answered(tmp_path):
    from loadgen import create_app

    with serve("account", tmp_path, POD_NAME="east/account-1") as url:
        app = create_app({"DATA_DIR": str(tmp_path / "loadgen"), "LOADGEN_RATE": "0", "TARGET_URL": url,
                          "LOADGEN_PATHS": "/accounts/1"})
        client = app.test_client()
        for bad in ("0", "21", "x", "١"):
            answer = client.get(f"/calls?count={bad}")
            assert answer.status_code == 400 and answer.get_json()["error"] == "invalid parameter"
        first = client.get("/calls?count=2").get_json()
        second = client.get("/calls?count=3").get_json()
    assert [a["pod"] for a in first["answers"]] == ["east/account-1"] * 2
    assert second["answered_by"] == {"east/account-1": 5}
