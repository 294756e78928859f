"""The tolerant matcher: tolerant of what a page cannot know, strict about everything else."""

import pytest

from workshop.doctest.matcher import mismatch, normalize

PODS_EXPECTED = """\
NAME                       READY   STATUS    RESTARTS   AGE
account-v1-6f7c9d8b5-k2m4p 1/1     Running   0          20s
gateway-7d9f8b6c5d-x2x4z   1/1     Running   0          20s
"""
PODS_ACTUAL = """\
NAME                          READY   STATUS    RESTARTS   AGE
account-v1-5b8d7c9f4d-q7zkw   1/1     Running   0          3m12s
gateway-58c4b9d8f-w9tbn       1/1     Running   0          2d4h
"""


@pytest.mark.parametrize("expected, actual", [
    (PODS_EXPECTED, PODS_ACTUAL),
    ("service/gateway   ClusterIP   10.96.12.7   <none>   8080/TCP   5s",
     "service/gateway ClusterIP 10.96.200.31 <none> 8080/TCP 119m"),
    ("Forwarding from 127.0.0.1:8080 -> 8080", "Forwarding from 127.0.0.1:41234 -> 8080"),
    ("gateway   NodePort   10.96.0.10   <none>   8080:30080/TCP", "gateway NodePort 10.96.0.77 <none> 8080:31999/TCP"),
    ('  resourceVersion: "1234"\n  uid: 0b7c7f5e-1a2b-4c3d-8e9f-001122334455',
     '  resourceVersion: "987654"\n  uid: 6a1d2c3b-9f8e-4d7c-a6b5-66778899aabb'),
    ("created at 2026-11-21T22:09:40Z in 1.2s", "created at 2026-12-01T08:00:01.123456Z in 350ms"),
    ("job-runner-x7k2p   Completed", "job-runner-9bq4z   Completed"),
    # `...` on its own line: any lines, none included
    ("first\n...\nlast", "first\nsecond\nthird\nlast"),
    ("first\n...\nlast", "first\nlast"),
    ("...\nready", "anything at all\nready"),
    ("header\n...", "header"),
    # `...` inside a line: any text
    ("deployment.apps/gateway ... rolled out", "deployment.apps/gateway successfully rolled out"),
    # blank lines and trailing spaces do not matter
    ("a\n\nb\n", "a\nb   \n\n"),
])
def test_tolerated_differences_match(expected, actual):
    assert mismatch(expected, actual) is None


@pytest.mark.parametrize("expected, actual, why", [
    (PODS_EXPECTED, PODS_ACTUAL.replace("Running", "CrashLoopBackOff", 1), "a wrong status"),
    (PODS_EXPECTED, PODS_ACTUAL.replace("gateway", "gatewey"), "a wrong name"),
    (PODS_EXPECTED, PODS_ACTUAL.replace("1/1", "0/1", 1), "a wrong readiness count"),
    (PODS_EXPECTED, PODS_ACTUAL.replace("   0   ", "   4   ", 1), "restarts"),
    (PODS_EXPECTED, "\n".join(PODS_ACTUAL.splitlines()[:2]), "a missing line"),
    (PODS_EXPECTED, PODS_ACTUAL + "order-7d9f8b6c5d-abcde 1/1 Running 0 1s\n", "an extra line with no `...`"),
    ("first\n...\nlast", "first\nmiddle", "the line after `...` never comes"),
    ("b\na", "a\nb", "lines out of order"),
    ("deployment.apps/gateway created", "Error from server (NotFound): namespaces \"workshop\" not found", "an error"),
    ("replicas: 3", "replicas: 2", "a number that is not a duration, port or IP"),
    ("", "unexpected output", "output where none was expected"),
])
def test_wrong_output_is_rejected(expected, actual, why):
    assert mismatch(expected, actual) is not None, f"accepted {why}"


def test_the_report_names_the_missing_line_first():
    report = mismatch("alpha\nbeta ready\ngamma", "alpha\nbeta failed\ngamma")
    assert report.startswith("expected output not matched; first expected line not found in order: 'beta ready'")
    assert "beta failed" in report


@pytest.mark.parametrize("line, normalized", [
    ("gateway-7d9f8b6c5d-x2x4z   1/1", "gateway-<HASH>-<ID> 1/1"),
    ("kube-controller-manager", "kube-controller-manager"),  # words are not hashes
    ("order-store", "order-store"),
    ("10.244.1.5:8080", "<IP>:<PORT>"),
    ("localhost:39211", "<IP>:<PORT>"),
    ("image v1.2.3 and 8080/TCP", "image v1.2.3 and 8080/TCP"),
])
def test_normalize(line, normalized):
    assert normalize(line) == normalized


def test_equivalents_make_the_learners_cluster_and_the_test_cluster_one():
    from workshop.doctest.matcher import equivalents

    extra = equivalents({"<CONTEXT>": ["kind-workshop", "workshop-sim-2"], "<K8S>": ["v9.8.7", "v9.8.6"]})
    page = "→ kube context: kind-workshop (cluster kind-workshop, server https://127.0.0.1:39211)\nServer v9.8.7"
    sim = "→ kube context: workshop-sim-2 (cluster workshop-sim-2, server https://127.0.0.1:40001)\nServer v9.8.6"
    assert mismatch(page, sim, extra) is None
    assert mismatch(page, sim) is not None, "without the equivalents the names differ"
    assert mismatch(page, sim.replace("workshop-sim-2 (", "prod-eu ("), extra) is not None
    assert mismatch("Server v9.8.7", "Server v9.8.70", extra) is not None
