"""Level 5 on a real Istio mesh: `make lab-5`, `make check-5`, `make solve-5` as a learner runs them.

The cluster is the session's mesh sim (``mesh_cluster`` of workshop/pytest_cluster.py: sim 6,
the one tests/sim/test_real_mesh.py and level 5's page use):
containerd, kubelets, real istiod and its injection webhook, Envoy sidecars. Before `make lab-5`
it gets what a learner has on kind (workshop/sim/mesh.py prepare_for_lab): the Istio release
folder (ISTIO_DIR, its bin first on PATH: workshop/sim/istio_release.py) and the images in the
nodes (istiod, proxy, the app, Jaeger, the other add-ons' stand-ins). lab.sh then does what it does on kind.

With WORKSHOP_KUBECONFIG (a kind cluster) the learner's own Istio download and images are used.

Every data-plane check runs for real; each broken state below is caught by its checks, with
the hint a learner sees, then passes again once the state is put back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from realnodes import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB = REPO_ROOT / "labs" / "05-istio"
MANIFESTS = LAB / "manifests"
LEVEL2 = REPO_ROOT / "labs" / "02-orchestrate" / "manifests"
CHECKER_RBAC = REPO_ROOT / "workshop" / "grading" / "rbac.yaml"

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def documents(path: Path) -> list[dict]:
    return [item for item in yaml.safe_load_all(path.read_text()) if item]


class Lab:
    """make, kubectl and `workshop check` as a learner runs them, against one cluster."""

    def __init__(self, kubeconfig: Path, env: dict[str, str]):
        # The release's bin/ first (as Istio's download page says), then the project's kubectl.
        release = [str(Path(env["ISTIO_DIR"]) / "bin")] if env.get("ISTIO_DIR") else []
        path = os.pathsep.join([*release, str(REPO_ROOT / ".bin"), str(REPO_ROOT / ".venv" / "bin"),
                                os.environ.get("PATH", "")])
        self.env = {**env, "KUBECONFIG": str(kubeconfig), "PATH": path, "NO_COLOR": "1"}
        self.env.pop("MAKEFLAGS", None)
        self.kubeconfig = kubeconfig

    def run(self, *command: str, input: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(command, input=input, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
                              env=self.env)

    def make(self, target: str, *variables: str) -> subprocess.CompletedProcess:
        done = self.run("make", "-s", target, *variables)
        assert done.returncode == 0, f"make {target} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
        return done

    def kubectl(self, *args: str, input: str | None = None) -> str:
        done = self.run("kubectl", *args, input=input, timeout=180)
        assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stderr}"
        return done.stdout

    def apply(self, *objects: dict) -> None:
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))

    def check(self, *args: str) -> tuple[int, dict]:
        report = Path(tempfile.gettempdir()) / f"level5-check-{os.getpid()}-{time.monotonic_ns()}.json"
        done = self.run(sys.executable, "-m", "workshop.cli", "check", "5", "--no-keep", "--json", str(report), *args,
                        timeout=300)
        assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
        result = json.loads(report.read_text())
        report.unlink()
        return done.returncode, {item["id"]: item for item in result["checks"]}

    def rollout(self, deployment: str) -> None:
        self.kubectl("-n", "workshop", "rollout", "status", f"deployment/{deployment}", "--timeout=120s")


@pytest.fixture(scope="module")
def lab(mesh_cluster, request):
    lab = Lab(*mesh_cluster)
    # Start from a cluster without level 5 (or the app), whatever an earlier test left.
    lab.make("reset-5", "ISTIO=uninstall")
    lab.kubectl("delete", "namespace", "workshop", "--ignore-not-found", "--wait=true", "--timeout=120s")
    started = time.monotonic()
    lab.make("lab-5")
    lab.lab5_seconds = round(time.monotonic() - started, 1)

    def cleanup():
        lab.run("make", "-s", "reset-5", "ISTIO=uninstall")
        lab.run("kubectl", "delete", "namespace", "workshop", "--ignore-not-found", "--wait=true", "--timeout=120s")

    request.addfinalizer(cleanup)
    return lab


def statuses(checks: dict) -> dict[str, str]:
    return {check_id: item["status"] for check_id, item in checks.items()}


SETUP_CHECKS = {"l5-istio", "l5-injection-label", "l5-sidecars", "l5-dashboards"}
STEP_CHECKS = {"l5-ingress", "l5-subsets", "l5-weights", "l5-testers", "l5-shifted", "l5-faults", "l5-timeouts",
               "l5-order-retries", "l5-circuit-breaker", "l5-mtls-strict", "l5-deny-by-default", "l5-allow-chain",
               "l5-tracing", "l5-jwt-issuer", "l5-users-policy"}
DATA_PLANE = {"l5-split-observed", "l5-circuit-opened", "l5-plaintext-refused", "l5-trace-four-hops",
              "l5-users-observed"}


def test_lab_fails_then_solve_passes_with_the_data_plane_for_real(lab):
    code, checks = lab.check()
    assert code == 1
    found = statuses(checks)
    # What make lab-5 sets up passes; what the steps ask for does not yet, data plane included.
    assert {found[i] for i in SETUP_CHECKS} == {"passed"}, found
    assert {found[i] for i in STEP_CHECKS | DATA_PLANE} == {"failed"}, found

    lab.make("solve-5")
    # Sidecars take a few seconds to get istiod's new config: the learner's `--wait`, on the split.
    lab.check("-k", "split_observed", "--wait", "60")
    # Spans reach Jaeger (real, workshop/sim/jaeger.py) from loadgen's traffic after the Telemetry.
    lab.check("-k", "trace_four_hops", "--wait", "120")
    code, checks = lab.check()
    # l5-circuit-opened: loadgen's paced calls may overflow the pool of 1 already (its own test sends the burst).
    unexpected = {i: (c["status"], c.get("mismatches")) for i, c in checks.items()
                  if c["status"] != "passed" and i != "l5-circuit-opened"}
    assert not unexpected, unexpected


# Run inside loadgen's pod (its own port, outside the mesh's capture): step 6's burst, waited for.
BURST = """
import json, sys, time, urllib.request
def call(method, path, body=None):
    request = urllib.request.Request("http://127.0.0.1:8080" + path, method=method, data=body,
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=10))
call("POST", "/bursts", json.dumps({"count": 400, "concurrency": 40}).encode())
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    burst = call("GET", "/stats")["burst"] or {}
    if burst.get("sent", 0) >= 400:
        print(json.dumps(burst)); sys.exit(0)
    time.sleep(0.5)
sys.exit("the burst did not finish in 90 s")
"""


def send_burst(lab: Lab) -> dict:
    """Step 6: loadgen's burst of 400 calls, 40 at a time (the page's POST /bursts), until all were sent."""
    return json.loads(lab.kubectl("-n", "workshop", "exec", "deploy/loadgen", "-c", "loadgen", "--",
                                  "python3", "-c", BURST).strip().splitlines()[-1])


def fresh_counters_of_order(lab: Lab) -> None:
    """Envoy's counters live as long as the sidecar: new order pods start from 0."""
    pods_restarted(lab, "order")


def test_the_burst_opens_the_circuit_breaker_only_with_a_pool_limit(solved):
    """Step 6 for real: without the pool limit the same burst overflows nothing; with it, order's
    sidecar refuses calls (UO), read from Envoy's own counters."""
    lab = solved
    lab.apply(manifest("destination-rule-account.yaml"))  # subsets only: no connectionPool
    try:
        fresh_counters_of_order(lab)
        send_burst(lab)
        code, checks = lab.check("-k", "check_circuit_opened")
        assert checks["l5-circuit-opened"]["status"] == "failed", checks
        assert "POST /bursts" in checks["l5-circuit-opened"]["hint"]
    finally:
        restore_solution(lab)
    fresh_counters_of_order(lab)
    deadline = time.monotonic() + 60
    while True:  # the limit reaches order's new Envoy in seconds: burst again until it shows (bounded)
        send_burst(lab)
        code, checks = lab.check("-k", "check_circuit_opened")
        if code == 0:
            break
        assert time.monotonic() < deadline, checks


def test_every_check_passes_under_the_view_only_identity(solved, tmp_path):
    """`workshop check` needs no write, data plane included: with workshop/grading/rbac.yaml's
    identity (a token from the TokenRequest API) every check passes, once the burst has opened
    the circuit (Envoy's counters are read through the pod's proxy, a GET)."""
    from labrun import token_kubeconfig

    lab = solved
    deadline = time.monotonic() + 60
    while lab.check("-k", "check_circuit_opened")[0] != 0:  # as the admin: the state to grade
        assert time.monotonic() < deadline, "the burst did not open the circuit in 60 s"
        send_burst(lab)
    lab.kubectl("apply", "-f", str(CHECKER_RBAC))
    try:
        token = lab.kubectl("-n", "workshop-checker", "create", "token", "checker", "--duration=30m").strip()
        viewer = token_kubeconfig(lab.kubeconfig, token, tmp_path / "checker-kubeconfig")
        code, checks = lab.check("--kubeconfig", str(viewer))
    finally:
        lab.run("kubectl", "delete", "-f", str(CHECKER_RBAC), "--wait=true", "--timeout=120s")
    failed = {i: (c["status"], c["message"], c["mismatches"]) for i, c in checks.items() if c["status"] != "passed"}
    assert code == 0 and not failed, failed


def test_running_lab_twice_changes_nothing(lab):
    """Every object keeps its resourceVersion: nothing was written."""
    listing = ("get", "deployments,services,serviceaccounts,configmaps,secrets,pods", "-n", "workshop", "-o",
               "jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{'\\n'}{end}")
    # An earlier test's restart may still be finishing (old pods shutting down, then the Deployment's
    # status written): wait until the namespace reads the same twice, 3 s apart, so only the lab's
    # own writes can change it.
    no_pod_terminating(lab)
    readings = [lab.kubectl(*listing)]

    def unchanged():
        time.sleep(3)
        readings.append(lab.kubectl(*listing))
        return readings[-1] == readings[-2]

    wait_until("the workshop namespace is settled", unchanged, timeout=90, interval=0)
    before = readings[-1]
    lab.make("lab-5")
    assert lab.kubectl(*listing) == before


def test_every_manifest_applies_server_side_with_the_pinned_crds(lab):
    """Server-side (dry run): the API server, and istiod's validation webhook, accept each object."""
    files = [argument for path in sorted(MANIFESTS.glob("*.yaml")) for argument in ("-f", str(path))]
    lab.kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server", "--field-manager=level5-test", *files)


def manifest(name: str) -> dict:
    return documents(MANIFESTS / name)[0]


def edited(name: str, change) -> dict:
    obj = manifest(name)
    change(obj)
    return obj


def set_weights(v1: int, v2: int):
    def change(obj):
        obj["spec"]["http"][-1]["route"][0]["weight"] = v1
        obj["spec"]["http"][-1]["route"][1]["weight"] = v2
    return change


def pods_with_sidecar(lab: Lab, selector: str = "") -> dict[str, bool]:
    """Each live pod of workshop (``-l selector``), and whether it has Istio's proxy."""
    pods = json.loads(lab.kubectl("-n", "workshop", "get", "pods", *(["-l", selector] if selector else []),
                                  "-o", "json"))["items"]
    return {pod["metadata"]["name"]: any(container["name"] == "istio-proxy" for container in
                                         pod["spec"]["containers"] + pod["spec"].get("initContainers", []))
            for pod in pods if not pod["metadata"].get("deletionTimestamp")}


def one_pod_without_sidecar(lab: Lab) -> None:
    """The namespace unlabelled while one pod of order is replaced: that pod starts without a sidecar.
    Under STRICT mTLS it cannot reach its database and never gets ready, so `rollout status` would
    never return: wait for the pod itself."""
    lab.kubectl("label", "namespace", "workshop", "istio-injection-")
    try:
        pod = lab.kubectl("-n", "workshop", "get", "pods", "-l", "app=order", "-o", "jsonpath={.items[0].metadata.name}")
        lab.kubectl("-n", "workshop", "delete", "pod", pod, "--wait=true")
        wait_until("a pod of order runs without a sidecar",
                   lambda: not all(pods_with_sidecar(lab, "app=order").values()), 120)
    finally:
        lab.kubectl("label", "namespace", "workshop", "istio-injection=enabled")


def pods_restarted(lab: Lab, app: str) -> None:
    lab.kubectl("-n", "workshop", "rollout", "restart", "deployment", "-l", f"app={app}")
    for name in lab.kubectl("-n", "workshop", "get", "deployments", "-l", f"app={app}", "-o", "name").split():
        lab.rollout(name.split("/")[-1])
    no_pod_terminating(lab)


def no_pod_terminating(lab: Lab, timeout: float = 120) -> None:
    """`rollout status` returns once the old ReplicaSet is scaled to 0; its pods may still be shutting
    down (Envoy drains first). Wait until they are gone, so the next test sees a settled namespace."""
    listing = ("-n", "workshop", "get", "pods", "-o",
               "jsonpath={range .items[?(@.metadata.deletionTimestamp)]}{.metadata.name}{'\\n'}{end}")
    wait_until("no pod of workshop is terminating", lambda: not lab.kubectl(*listing).strip(), timeout)


def restore_solution(lab: Lab) -> None:
    lab.make("solve-5")


ACCOUNT_ROUTES = "virtual-service-account-timeout-retries.yaml"
ACCOUNT_RULE = "destination-rule-account-circuit-breaker.yaml"

# The hidden list: (checks that must fail, how to break it, words the first check's hint must
# hold). Every state is put back by `make solve-5` (what a learner runs), then the same checks must pass
# again. One mistake per control-plane check, offline and in seconds: test_mutations_level5.py.
BROKEN = {
    "weights-no-pod-can-serve": (
        ["l5-split-observed"],
        lambda lab: lab.kubectl("-n", "workshop", "scale", "deployment", "account-v2", "--replicas=0"),
        "bypass the sidecars"),
    "subset-labels-match-nothing": (
        ["l5-subsets", "l5-split-observed"],
        lambda lab: lab.apply(edited(ACCOUNT_RULE, lambda o: o["spec"]["subsets"][1].update(labels={"version": "2"}))),
        "version: v2"),
    "strict-in-the-wrong-namespace": (
        ["l5-mtls-strict", "l5-plaintext-refused"],
        lambda lab: (lab.kubectl("delete", "-f", str(MANIFESTS / "peer-authentication-strict.yaml")),
                     lab.apply(edited("peer-authentication-strict.yaml",
                                      lambda o: o["metadata"].update(namespace="default")))),
        "namespace it is created in"),
    "principal-names-the-wrong-service-account": (
        ["l5-allow-chain", "l5-split-observed"],
        lambda lab: lab.apply(edited("authorization-policy-allow-account.yaml", lambda o: o[
            "spec"]["rules"][0]["from"][0]["source"].update(principals=["cluster.local/ns/workshop/sa/customer"]))),
        "account allows order"),
    "fault-on-every-route": (
        ["l5-faults", "l5-split-observed"],
        lambda lab: lab.apply(edited(ACCOUNT_ROUTES, lambda o: o["spec"]["http"][1].update(
            fault={"abort": {"httpStatus": 503, "percentage": {"value": 100}}}))),
        "not on the route everyone"),
    "sidecar-missing-from-one-pod": (
        ["l5-sidecars"],
        one_pod_without_sidecar,
        "rollout restart"),
    "tokens-checked-by-no-one": (
        ["l5-jwt-issuer", "l5-users-observed"],
        lambda lab: lab.kubectl("delete", "-f", str(MANIFESTS / "request-authentication-ingress.yaml")),
        "request-authentication-ingress.yaml"),
    "orders-open-to-anyone": (
        ["l5-users-policy"],
        lambda lab: lab.apply(edited("authorization-policy-ingress-users.yaml",
                                     lambda o: o["spec"]["rules"][0].pop("to"))),
        "allows reads (GET)"),
}
# What `make solve-5` does not own, put back as a learner would.
RESTORE = {
    "weights-no-pod-can-serve": lambda lab: (lab.kubectl("-n", "workshop", "scale", "deployment", "account-v2",
                                                         "--replicas=1"), lab.rollout("account-v2")),
    "strict-in-the-wrong-namespace": lambda lab: lab.kubectl("delete", "peerauthentication", "default", "-n", "default"),
    "sidecar-missing-from-one-pod": lambda lab: pods_restarted(lab, "order"),
}


def function_of(check_id: str) -> str:
    """pytest -k selects by name: l5-allow-chain is the function check_allow_chain."""
    return "check_" + check_id.removeprefix("l5-").replace("-", "_")


@pytest.fixture(scope="module")
def solved(lab):
    lab.make("solve-5")
    code, checks = lab.check("-k", "split_observed", "--wait", "60")
    assert code == 0, checks
    return lab


@pytest.mark.parametrize("state", BROKEN, ids=list(BROKEN))
def test_each_broken_state_is_caught_with_its_hint(solved, state):
    lab = solved
    check_ids, breaks, hint_words = BROKEN[state]
    selection = " or ".join(function_of(check_id) for check_id in check_ids)
    breaks(lab)
    try:
        # A real mesh applies config in seconds: wait (bounded) until every named check fails.
        code, checks = wait_until_failed(lab, selection, check_ids)
        first = checks[check_ids[0]]
        assert hint_words in first["hint"], first
        for check_id in check_ids:
            assert checks[check_id]["mismatches"], f"{check_id}: a failed check must say what differs"
    finally:
        if state in RESTORE:
            RESTORE[state](lab)
        restore_solution(lab)
    code, checks = lab.check("-k", selection, "--wait", "60")
    assert code == 0 and set(checks) == set(check_ids), {i: (c["status"], c.get("mismatches")) for i, c in checks.items()}


def wait_until_failed(lab: Lab, selection: str, check_ids: list[str], timeout: float = 60) -> tuple[int, dict]:
    deadline = time.monotonic() + timeout
    while True:
        code, checks = lab.check("-k", selection)
        if code == 1 and all(checks[check_id]["status"] == "failed" for check_id in check_ids):
            return code, checks
        assert time.monotonic() < deadline, f"not all of {check_ids} failed in {timeout:.0f} s: {statuses(checks)}"
        time.sleep(2)  # the next attempt of a bounded wait, not a sleep that hopes


def test_reset_leaves_nothing_behind(lab):
    lab.make("reset-5")
    leftovers = lab.kubectl("get", "virtualservices,destinationrules,gateways.networking.istio.io,"
                            "peerauthentications,authorizationpolicies,requestauthentications,telemetries", "-A", "-o", "name")
    assert leftovers.strip() == ""
    assert lab.kubectl("get", "deployments", "-n", "workshop", "-o", "name").split() == [
        f"deployment.apps/{name}" for name in ("account", "customer", "gateway", "order")]
    labels = json.loads(lab.kubectl("get", "namespace", "workshop", "-o", "json"))["metadata"].get("labels", {})
    assert "istio-injection" not in labels
    # Polled, not `kubectl wait --for=delete`: a StatefulSet makes its pod again under the same name.
    wait_until("reset-5 restarted every pod without a sidecar (databases included)",
               lambda: not any(pods_with_sidecar(lab).values()), 180)
    lab.make("reset-5", "ISTIO=uninstall")
    assert lab.run("kubectl", "get", "namespace", "istio-system").returncode != 0
    # `istioctl uninstall --purge` removed Istio's CRDs: the level cannot be graded, and says so (exit 2).
    code, checks = lab.check("-k", "check_istio")
    assert code == 2
