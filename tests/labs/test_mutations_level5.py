"""Level 5's mutation suite, for the classes the control plane decides: the solution's own
objects (the files `make solve-5` applies) fed to the checks, then one mistake at a time.
Each mistake must fail its check with a hint naming the object; the solution must pass.

Runs without a cluster (seconds, in CI): the checks only read Istio objects here. The
data-plane checks (split observed, circuit opened, plaintext refused, traces) need real
nodes; their mistakes are listed in DATA_PLANE_CASES for when the sim has them.

    MUTATIONS=all          runs every mutation, not only the representative ones
    LEVEL5_CHECKS=DIR      grades with the checks of another tree (to prove the old ones missed)
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
from pathlib import Path
from typing import Callable

import pytest
from fakecluster import FakeCluster, Mutation, documents, find, set_path
from labrun import REPO_ROOT
from mutation_report import report

from workshop.grading import CheckFailed

CHECKS = Path(os.environ.get("LEVEL5_CHECKS") or REPO_ROOT / "labs" / "05-istio" / "checks")
MANIFESTS = REPO_ROOT / "labs" / "05-istio" / "manifests"
LEVEL2 = REPO_ROOT / "labs" / "02-orchestrate" / "manifests"
ALL = os.environ.get("MUTATIONS", "") == "all"
SOLUTION = ("gateway-workshop.yaml", "virtual-service-ingress.yaml", "destination-rule-account-circuit-breaker.yaml",
            "virtual-service-account-timeout-retries.yaml", "virtual-service-order-retries.yaml",
            "peer-authentication-strict.yaml", "authorization-policy-allow-gateway.yaml",
            "authorization-policy-allow-customer.yaml", "authorization-policy-allow-order.yaml",
            "authorization-policy-allow-account.yaml", "authorization-policy-allow-nothing.yaml",
            "telemetry-mesh-tracing.yaml", "request-authentication-ingress.yaml",
            "authorization-policy-ingress-users.yaml")
APPS = ("gateway", "customer", "order", "account", "loadgen")


def pod_of(deployment: dict) -> dict:
    template = deployment["spec"]["template"]
    return {"kind": "Pod", "metadata": {"name": f"{deployment['metadata']['name']}-1",
                                         "namespace": deployment["metadata"]["namespace"],
                                         "labels": template["metadata"].get("labels") or {}},
            "spec": {**template["spec"], "containers": [*template["spec"]["containers"], {"name": "istio-proxy"}]},
            "status": {"containerStatuses": [{"name": "istio-proxy", "ready": True}]}}


def solved_objects() -> list[dict]:
    objects = [{"kind": "Namespace", "metadata": {"name": "workshop", "labels": {"istio-injection": "enabled"}}}]
    for name in APPS[:4]:
        objects += documents(LEVEL2 / f"app-{name}.yaml")
    objects += documents(LEVEL2 / "config-map-settings.yaml")
    objects += documents(MANIFESTS / "app-account-v2.yaml") + documents(MANIFESTS / "app-loadgen.yaml")
    for item in objects:
        item["metadata"].setdefault("namespace", "workshop") if item["kind"] != "Namespace" else None
    objects += [pod_of(item) for item in objects if item["kind"] == "Deployment"]
    objects.append({"kind": "Pod", "metadata": {"name": "istio-ingressgateway-1", "namespace": "istio-system",
                                                "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}},
                    "spec": {}})
    for file in SOLUTION:
        objects += documents(MANIFESTS / file)
    for index, item in enumerate(objects):
        item["metadata"].setdefault("creationTimestamp", f"2026-01-01T00:00:{index:02d}Z")
    return objects


def load(module_name: str):
    if str(CHECKS) not in sys.path:
        sys.path.insert(0, str(CHECKS))
    spec = importlib.util.spec_from_file_location(f"level5_{module_name}", CHECKS / f"{module_name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECK_FUNCTIONS = {
    "l5-sidecars": ("check_01_mesh", "check_sidecars", {"apps": APPS}),
    "l5-ingress": ("check_02_ingress", "check_ingress", {}),
    "l5-faults": ("check_04_faults", "check_faults", {}),
    "l5-timeouts": ("check_05_resilience", "check_timeouts", {}),
    "l5-circuit-breaker": ("check_06_circuit_breaking", "check_circuit_breaker", {}),
    "l5-mtls-strict": ("check_07_mtls", "check_mtls_strict", {}),
    "l5-allow-chain": ("check_08_authorization", "check_allow_chain", {}),
    "l5-tracing": ("check_09_observability", "check_tracing", {}),
    "l5-jwt-issuer": ("check_10_end_users", "check_jwt_issuer", {}),
    "l5-users-policy": ("check_10_end_users", "check_users_policy", {}),
}
# Checks of the mesh as a whole (istio-system): they take no namespace.
MESH_WIDE = {"check_tracing", "check_jwt_issuer", "check_users_policy"}


def run_check(check_id: str, objects: list[dict]) -> tuple[bool, str, list[str]]:
    """(passed, hint, mismatches) of one check on these objects, as `workshop check` would say them."""
    module_name, function_name, extra = CHECK_FUNCTIONS[check_id]
    function = getattr(load(module_name), function_name)
    cluster = FakeCluster(objects)
    arguments = {"cluster": cluster, "namespace": "workshop", **extra}
    if function_name in MESH_WIDE:
        arguments.pop("namespace")
    try:
        function(**arguments)
    except CheckFailed as error:
        hints = getattr(error, "hints", None) or [function.workshop_check.hint]
        return False, " ".join(hints), [str(item) for item in error.mismatches]
    return True, "", []


def everyone_prefix_abort(objects):
    routes = find(objects, "VirtualService", "account")["spec"]["http"]
    routes.insert(1, {"name": "slash", "match": [{"uri": {"prefix": "/"}}],
                      "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 50}}},
                      "route": [{"destination": {"host": "account", "subset": "v2"}}], "timeout": "1s"})


def policy(name: str, spec: dict, namespace: str = "workshop") -> Callable[[list[dict]], None]:
    return lambda objects: objects.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                                           "metadata": {"name": name, "namespace": namespace}, "spec": spec})


MUTATIONS = [
    Mutation("prefix-slash-abort", "4 catch-all", everyone_prefix_abort, "l5-faults", "not on the route everyone",
             ci=True),
    Mutation("namespace-wide-allow-all", "3 no selector", policy("open", {"rules": [{}]}), "l5-allow-chain",
             "authorizationpolicy/open", ci=True),
    Mutation("namespace-wide-from-namespace", "3 no selector",
             policy("same-namespace", {"rules": [{"from": [{"source": {"namespaces": ["workshop"]}}]}]}),
             "l5-allow-chain", "authorizationpolicy/same-namespace"),
    Mutation("mesh-wide-allow-all", "3 no selector", policy("open", {"rules": [{}]}, "istio-system"),
             "l5-allow-chain", "authorizationpolicy/open"),
    Mutation("deny-action", "hint names the object", policy("deny-order", {
        "action": "DENY", "selector": {"matchLabels": {"app": "account"}},
        "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/workshop/sa/order"]}}]}]}),
        "l5-allow-chain", "authorizationpolicy deny-order"),
    Mutation("outlier-detection-0", "5 zero", set_path("DestinationRule", "account",
                                                       "spec.trafficPolicy.outlierDetection.consecutive5xxErrors", 0),
             "l5-circuit-breaker", "destinationrule/account", ci=True),
    Mutation("pending-requests-0", "5 zero", set_path("DestinationRule", "account",
                                                      "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
                                                      0), "l5-circuit-breaker", "destinationrule/account"),
    Mutation("sampling-0", "5 zero", set_path("Telemetry", "mesh-default", "spec.tracing.0.randomSamplingPercentage",
                                              0), "l5-tracing", "randomSamplingPercentage"),
    Mutation("gateway-in-istio-system", "6 references", set_path("VirtualService", "ingress", "spec.gateways",
                                                                 ["istio-system/workshop-gateway"]),
             "l5-ingress", "istio-system/workshop-gateway", ci=True),
    Mutation("gateway-host-not-local", "6 references", set_path("Gateway", "workshop-gateway", "spec.servers.0.hosts",
                                                                ["workshop.example.com"]),
             "l5-ingress", "gateway/workshop-gateway"),
    Mutation("route-to-no-service", "6 references", set_path("VirtualService", "ingress",
                                                             "spec.http.0.route.0.destination.host",
                                                             "orders.workshop.svc.cluster.local"),
             "l5-ingress", "orders.workshop.svc.cluster.local"),
    Mutation("tls-disable", "hint names the object", set_path("DestinationRule", "account", "spec.trafficPolicy.tls",
                                                              {"mode": "DISABLE"}),
             "l5-mtls-strict", "destinationrule/account", ci=True),
    Mutation("tls-disable-in-a-subset", "hint names the object",
             set_path("DestinationRule", "account", "spec.subsets.1.trafficPolicy", {"tls": {"mode": "DISABLE"}}),
             "l5-mtls-strict", "destinationrule/account", ci=True),
    Mutation("tls-simple-on-a-port", "hint names the object",
             set_path("DestinationRule", "account", "spec.trafficPolicy.portLevelSettings",
                      [{"port": {"number": 8080}, "tls": {"mode": "SIMPLE"}}]),
             "l5-mtls-strict", "portLevelSettings[0].tls"),
    Mutation("tls-disable-mesh-wide", "hint names the object", lambda objects: objects.append({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "no-mtls", "namespace": "istio-system"},
        "spec": {"host": "*.local", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}}),
        "l5-mtls-strict", "destinationrule/no-mtls"),
    Mutation("jwt-keys-fetched-from-outside", "hint names the object",
             lambda objects: find(objects, "RequestAuthentication", "workshop-users")["spec"]["jwtRules"][0].update(
                 jwks=None, jwksUri="https://issuer.example/keys"),
             "l5-jwt-issuer", "request-authentication-ingress.yaml"),
    Mutation("jwt-rule-on-the-app-not-the-ingress", "hint names the object",
             set_path("RequestAuthentication", "workshop-users", "spec.selector.matchLabels", {"app": "gateway"}),
             "l5-jwt-issuer", "request-authentication-ingress.yaml", ci=True),
    Mutation("orders-open-to-anonymous-users", "hint names the object",
             set_path("AuthorizationPolicy", "ingress-users", "spec.rules.0.to.0.operation.methods", ["GET", "POST"]),
             "l5-users-policy", "authorization-policy-ingress-users.yaml", ci=True),
    Mutation("users-of-another-issuer", "hint names the object",
             set_path("AuthorizationPolicy", "ingress-users", "spec.rules.1.from.0.source.requestPrincipals",
                      ["https://workshop.local/*"]),
             "l5-users-policy", "authorization-policy-ingress-users.yaml"),
    Mutation("sidecar-opt-out", "hint names the object",
             set_path("Deployment", "order", "spec.template.metadata.annotations", {"sidecar.istio.io/inject": "false"}),
             "l5-sidecars", "restart cannot help"),
]
SELECTED = [item for item in MUTATIONS if item.ci or ALL]
# Mistakes only real nodes reveal (the sim's pods run nothing): for test_level5 on real nodes.
DATA_PLANE_CASES = {"label v2 on a pod running v1": "l5-split-observed",
                    "an ingress gateway that does not answer on 127.0.0.1:9080": "l5-split-observed"}


@pytest.fixture(scope="module", autouse=True)
def check_marker(pytestconfig):
    pytestconfig.addinivalue_line("markers", "workshop_check(spec): a self-grading check (workshop.grading.check)")


@pytest.mark.parametrize("check_id", CHECK_FUNCTIONS)
def test_the_solution_passes(check_id):
    passed, hint, mismatches = run_check(check_id, solved_objects())
    assert passed, mismatches


@pytest.mark.parametrize("mutation", SELECTED, ids=[item.name for item in SELECTED])
def test_a_mistake_fails_its_check_with_a_hint_naming_it(mutation, pytestconfig):
    objects = copy.deepcopy(solved_objects())
    mutation.change(objects)
    passed, hint, mismatches = run_check(mutation.fails, objects)
    report(pytestconfig).record("level 5 (offline, control plane)", mutation.name, not passed and mutation.hint in hint)
    assert not passed, f"{mutation.name} passed {mutation.fails} as ✓"
    assert mutation.hint in hint, f"{mutation.hint!r} not in the hint: {hint}"
