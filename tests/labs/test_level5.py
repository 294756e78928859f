"""Level 5 (Istio): its manifests and its checks' logic (the whole lab on a real mesh: test_level5_real_mesh.py).

- Unit: the checks' helpers (level5_mesh, level5_traffic) on shaped objects, and the
  data-plane logic against real HTTP servers on 127.0.0.1.
- Manifests: `istioctl analyze --use-kube=false` finds no error in any of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB = REPO_ROOT / "labs" / "05-istio"
MANIFESTS = LAB / "manifests"
LEVEL2 = REPO_ROOT / "labs" / "02-orchestrate" / "manifests"
sys.path[:0] = [str(LAB / "checks"), str(Path(__file__).parent)]

import level5_mesh as mesh  # noqa: E402  (the checks' own helpers, beside them)
import level5_traffic as traffic  # noqa: E402
from level5_servers import (http_server, kubeconfig_for, resetting_server, summary_body,  # noqa: E402
                            without_istio_api)

from workshop.grading.httpprobe import Direct  # noqa: E402

ISTIO_KINDS = {"Gateway", "VirtualService", "DestinationRule", "PeerAuthentication", "AuthorizationPolicy", "Telemetry",
               "RequestAuthentication"}


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def istio_manifests() -> list[Path]:
    return sorted(p for p in MANIFESTS.glob("*.yaml") if any(d["kind"] in ISTIO_KINDS for d in documents(p)))


# --- the checks' helpers ---------------------------------------------------------------------
@pytest.mark.parametrize("pod, expected", [
    ({"spec": {"containers": [{"name": "app"}, {"name": "istio-proxy"}]},
      "status": {"containerStatuses": [{"name": "istio-proxy", "ready": True}]}}, ("container", True)),
    ({"spec": {"containers": [{"name": "app"}],
               "initContainers": [{"name": "istio-init"}, {"name": "istio-proxy", "restartPolicy": "Always"}]},
      "status": {"initContainerStatuses": [{"name": "istio-proxy", "ready": False}]}}, ("native sidecar", False)),
    # An init container named istio-proxy that is not a sidecar runs once and stops: no proxy.
    ({"spec": {"containers": [{"name": "app"}], "initContainers": [{"name": "istio-proxy"}]}}, (None, False)),
    ({"spec": {"containers": [{"name": "app"}]}}, (None, False)),
], ids=["container", "native-not-ready", "plain-init", "none"])
def test_sidecar_is_found_in_both_shapes(pod, expected):
    assert mesh.sidecar(pod) == expected


@pytest.mark.parametrize("text, expected", [("1s", 1.0), ("300ms", 0.3), ("1m30s", 90.0), ("1.5s", 1.5),
                                            ("", None), ("1 s", None), ("soon", None), (None, None)])
def test_durations(text, expected):
    assert mesh.seconds(text) == pytest.approx(expected) if expected is not None else mesh.seconds(text) is None


def test_weights_sum_and_default_route():
    vs = documents(MANIFESTS / "virtual-service-account-90-10.yaml")[0]
    testers, everyone = vs["spec"]["http"]
    assert mesh.weights(testers) == {"v2": 100} and not mesh.is_default_route(testers)
    assert mesh.weights(everyone) == {"v1": 90, "v2": 10} and mesh.is_default_route(everyone)
    assert mesh.header_match(testers, "baggage") == {"exact": "tester=true"}


def test_every_shift_variant_sums_to_100():
    for name in ("v1", "testers", "90-10", "50-50", "0-100", "delay", "abort", "timeout-retries"):
        for route in documents(MANIFESTS / f"virtual-service-account-{name}.yaml")[0]["spec"]["http"]:
            assert sum(mesh.weights(route).values()) == 100, name


def test_allow_policies_name_principals_only():
    policy = documents(MANIFESTS / "authorization-policy-allow-account.yaml")[0]
    assert mesh.allowed_principals(policy) == {"cluster.local/ns/workshop/sa/order"}
    assert mesh.allows_everything_else(policy) == []
    assert mesh.allows_everything_else({"spec": {"rules": [{}]}}) == ["rules[0] has no `from`: it allows any caller"]
    assert mesh.denies_by_default(documents(MANIFESTS / "authorization-policy-allow-nothing.yaml")[0])
    assert not mesh.denies_by_default(policy)


# --- data-plane logic against HTTP servers on 127.0.0.1 -----------------------------------------
def weighted(pattern: list[str | None]):
    """An app whose account answers in a fixed rotation, e.g. 9 x v1 then 1 x v2 for 90/10."""
    return lambda path, count: (200, summary_body(pattern[(count - 1) % len(pattern)]))


def test_observed_split_matches_the_weights_it_was_served_with():
    with http_server(weighted(["v1"] * 9 + ["v2"])) as url:
        counts = traffic.observed_split(Direct(url).get, "/api/customers/1/summary", requests=100)
    assert counts == Counter({"v1": 90, "v2": 10})
    assert traffic.split_mismatches(counts, {"v1": 90, "v2": 10}) == []
    wrong = traffic.split_mismatches(counts, {"v1": 50, "v2": 50})
    assert [m.path for m in wrong] == ["share of account v1 over 100 answers", "share of account v2 over 100 answers"]
    assert traffic.split_mismatches(counts, {"v1": 0, "v2": 100})  # 0/100 not reached: caught


def test_observed_split_without_account_answers_fails():
    with http_server(weighted([None])) as url:
        counts = traffic.observed_split(Direct(url).get, "/api/customers/1/summary", requests=10)
    assert counts == Counter({None: 10})
    assert [m.path for m in traffic.split_mismatches(counts, {"v2": 100})] == ["account answers through the ingress"]


def test_plaintext_refused_only_when_nothing_answers():
    with resetting_server() as url:
        refused, what = traffic.plaintext_verdict(Direct(url, timeout=2).get)
    assert refused, what
    with http_server(lambda path, count: (200, b'{"status": "ok"}')) as url:
        assert traffic.plaintext_verdict(Direct(url).get) == (False, "HTTP 200: the plaintext request was answered")
    with http_server(lambda path, count: (403, b"RBAC: access denied")) as url:
        refused, what = traffic.plaintext_verdict(Direct(url).get)
    assert not refused and "AuthorizationPolicy" in what


METRICS = b"""# TYPE istio_requests_total counter
istio_requests_total{reporter="source",source_workload="order",destination_service_name="account",response_code="503",response_flags="UO"} 7
istio_requests_total{reporter="source",source_workload="order",destination_service_name="account",response_code="200",response_flags="-"} 120
istio_requests_total{reporter="destination",destination_service_name="account",response_flags="UO"} 100
istio_requests_total{reporter="source",destination_service_name="customer",response_flags="UO"} 3
"""


def test_overflowed_calls_counts_only_the_callers_UO_to_account():
    with http_server(lambda path, count: (200, METRICS)) as url:
        text = Direct(url).get("/stats/prometheus").body.decode()
    assert traffic.overflowed_calls(text) == 7
    assert traffic.overflowed_calls(METRICS.decode().replace('"UO"} 7', '"-"} 7')) == 0


ENVOY_STATS = """# TYPE envoy_cluster_upstream_rq_pending_overflow counter
envoy_cluster_upstream_rq_pending_overflow{cluster_name="outbound|8080|v2|account.workshop.svc.cluster.local"} 41
envoy_cluster_upstream_rq_pending_overflow{cluster_name="outbound|8080|v1|account.workshop.svc.cluster.local"} 2
envoy_cluster_upstream_rq_pending_overflow{cluster_name="inbound|8080||"} 9
envoy_cluster_upstream_rq_pending_overflow{cluster_name="outbound|8080||customer.workshop.svc.cluster.local"} 5
"""


def test_overflowed_calls_reads_envoys_own_counter_without_istio_metrics():
    """A mesh without Istio's metrics (the sim's): Envoy's outbound clusters to account count the overflow."""
    assert traffic.overflowed_calls(ENVOY_STATS) == 43
    assert traffic.overflowed_calls(ENVOY_STATS.replace("} 41", "} 0").replace("} 2\n", "} 0\n")) == 0


def jaeger_traces(*traces: list[str]) -> bytes:
    return json.dumps({"data": [{"traceID": str(i), "processes": {f"p{j}": {"serviceName": name}
                                                                   for j, name in enumerate(names)}}
                                for i, names in enumerate(traces)]}).encode()


def test_trace_across_four_hops():
    full = ["istio-ingressgateway.istio-system", "gateway.workshop", "customer.workshop", "order.workshop",
            "account.workshop"]
    with http_server(lambda path, count: (200, jaeger_traces(full[:3], full))) as url:
        body = Direct(url).get("/jaeger/api/traces?service=gateway.workshop").body
    assert traffic.services_in_traces(body) == {"gateway", "customer", "order", "account"}
    assert traffic.services_in_traces(jaeger_traces(full[:4])) == {"gateway", "customer", "order"}
    assert traffic.services_in_traces(b"not json") == set()


class ProxyCannotReach:
    """A cluster whose API server cannot reach the ingress gateway (its service proxy says so)."""

    def __init__(self, context: str):
        self.context = context

    def send(self, path, accept="*/*"):
        return 503, b"error trying to reach service: dial tcp 10.96.0.10:80: connect: connection refused"


def test_on_kind_the_ingress_is_also_tried_on_the_learners_port(monkeypatch):
    with http_server(lambda path, count: (200, b'{"trace": []}')) as url:
        monkeypatch.setattr(mesh, "KIND_INGRESS", url)
        answer = mesh.IngressGateway(ProxyCannotReach("kind-workshop")).get("/api/customers/1/summary")
    assert answer.status == 200 and answer.via == f"direct {url}"


def test_the_learners_port_fails_fast_and_says_what_each_way_saw(monkeypatch):
    import socket

    with socket.socket() as closed:  # a port nobody listens on: connection refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(mesh, "KIND_INGRESS", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(AssertionError) as error:
        mesh.IngressGateway(ProxyCannotReach("kind-workshop")).get("/")
    assert time.monotonic() - started < mesh.KIND_INGRESS_TIMEOUT + 1
    assert "service proxy istio-system/istio-ingressgateway:http2" in str(error.value)
    assert f"direct http://127.0.0.1:{port}" in str(error.value)
    # Not kind: the port is not the learner's, so only the service proxy is asked.
    with pytest.raises(AssertionError) as error:
        mesh.IngressGateway(ProxyCannotReach("workshop-sim")).get("/")
    assert "direct" not in str(error.value)


def test_missing_istio_crds_mean_exit_2_with_one_sentence(tmp_path):
    with http_server(without_istio_api) as url:
        done = subprocess.run([sys.executable, "-m", "workshop.cli", "check", "5", "--no-keep",
                               "--kubeconfig", str(kubeconfig_for(url, tmp_path))],
                              capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                              env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Istio is not installed in this cluster: run make lab-5" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# --- istioctl analyze ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def analyze():
    """``analyze(paths) -> [message dicts]``: istioctl analyze --use-kube=false, every namespace.

    --all-namespaces matters: without it istioctl looks at namespace `default` only and
    says "No validation issues" about objects in workshop it never analyzed."""
    from workshop.sim import istio
    from workshop.sim.gobuild import BuildError

    try:
        istio.build_istioctl()
    except BuildError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"istioctl is required in CI: {error}")
        pytest.skip(f"ISTIOCTL UNAVAILABLE, analyze NOT RUN: {error}")

    def run(paths: list[Path]) -> list[dict]:
        done = istio.run_istioctl(["analyze", "--use-kube=false", "--all-namespaces", "--output=json",
                                   *map(str, paths)])
        assert "Error(s) adding files" not in done.stderr, done.stderr
        return json.loads(done.stdout or "[]")

    return run


def references(manifest: Path) -> list[Path]:
    """What a manifest refers to: the app's Services and pods, the Gateway, the subsets."""
    base = [LEVEL2 / f"app-{name}.yaml" for name in ("gateway", "customer", "order", "account")]
    base += [LEVEL2 / "namespace-workshop.yaml", MANIFESTS / "app-account-v2.yaml", MANIFESTS / "app-loadgen.yaml"]
    if manifest.name.startswith("virtual-service-ingress"):
        base.append(MANIFESTS / "gateway-workshop.yaml")
    if manifest.name.startswith("virtual-service-account"):
        base.append(MANIFESTS / "destination-rule-account.yaml")
    return base


def errors_of(messages: list[dict]) -> list[str]:
    return [f"{m['code']} ({m['origin']}) {m['message']}" for m in messages if m.get("level") == "Error"]


@pytest.mark.parametrize("manifest", istio_manifests(), ids=lambda path: path.stem)
def test_istioctl_analyze_finds_no_error(analyze, manifest):
    assert errors_of(analyze([manifest, *references(manifest)])) == []


def test_istioctl_analyze_of_the_whole_solution_finds_no_error(analyze):
    solution = [MANIFESTS / name for name in ("gateway-workshop.yaml", "virtual-service-ingress.yaml",
                                              "destination-rule-account-circuit-breaker.yaml",
                                              "virtual-service-account-timeout-retries.yaml",
                                              "virtual-service-order-retries.yaml", "peer-authentication-strict.yaml",
                                              "telemetry-mesh-tracing.yaml", "request-authentication-ingress.yaml")]
    solution += sorted(MANIFESTS.glob("authorization-policy-*.yaml"))
    assert errors_of(analyze([*solution, *references(MANIFESTS / "virtual-service-account-v1.yaml")])) == []


def test_istioctl_analyze_would_catch_a_route_to_an_undefined_subset(analyze):
    """The analyze test can fail: the same route without its DestinationRule is an error."""
    found = errors_of(analyze([MANIFESTS / "virtual-service-account-90-10.yaml", LEVEL2 / "app-account.yaml"]))
    assert found and all(message.startswith("IST0101") for message in found), found
