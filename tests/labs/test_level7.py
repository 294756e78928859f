"""Level 7 on two real meshes: `make lab-7` → the checks fail → `make solve-7` → they pass, the
page's failover observed with real requests, each check caught on a broken state with its hint,
and `make reset-7` leaves nothing behind in either cluster.

The clusters are two real-node sims, ``multicluster.SIMS`` (10 as east, 11 as west), joined
on a network of their own as kind's clusters share Docker's (workshop/sim/multicluster.py):
real kubelets, real istiod and its injection webhook in each, Envoy sidecars and east-west
gateways, remote secrets made by the real `istioctl create-remote-secret`. The learner's
contexts kind-east and kind-west, the node labels of kind-east.yaml and kind-west.yaml, the
images and Istio's release folder (ISTIO_DIR, its bin first on PATH) are given as on a laptop;
lab.sh then does what it does on kind.

The tests of this module run in order and share both clusters.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from realnodes import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
LEVEL = 7
STATE_DIR = REPO_ROOT / ".workshop" / "multicluster"
CALLS = "/api/v1/namespaces/workshop/services/loadgen:http/proxy/calls?count=8"

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

ALL_CHECKS = {"l7-control-planes", "l7-one-mesh", "l7-shared-root", "l7-eastwest", "l7-cross-network", "l7-mesh-networks",
              "l7-remote-secrets", "l7-account-both", "l7-failover", "l7-cross-cluster"}
DONE_BY_LAB = {"l7-control-planes", "l7-one-mesh", "l7-shared-root", "l7-eastwest", "l7-cross-network",
               "l7-mesh-networks"}


@dataclass
class Pair:
    """make, kubectl and `workshop check 7` as a learner runs them, against kind-east and kind-west."""

    kubeconfig: Path
    env: dict[str, str]
    east: str = "kind-east"
    west: str = "kind-west"

    def run(self, *command: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=timeout, cwd=REPO_ROOT)

    def make(self, target: str, *variables: str) -> subprocess.CompletedProcess:
        done = self.run("make", "-s", target, *variables)
        assert done.returncode == 0, f"make {target} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
        return done

    def kubectl(self, context: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = self.run("kubectl", "--context", context, *args, timeout=180)
        if check:
            assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def check(self, *args: str) -> tuple[int, dict]:
        report = Path(f"/tmp/level7-check-{os.getpid()}-{time.monotonic_ns()}.json")
        done = self.run(sys.executable, "-m", "workshop.cli", "check", "7", "--no-keep", "--json", str(report), *args,
                        timeout=300)
        assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
        result = json.loads(report.read_text())
        report.unlink()
        return done.returncode, {item["id"]: item for item in result["checks"]}

    def answered_by(self) -> list[str]:
        """Step 4's command: eight calls from east's loadgen, and the pod behind each answer."""
        answer = json.loads(self.kubectl(self.east, "get", "--raw", CALLS).stdout)
        return [item["pod"] for item in answer["answers"]]


def statuses(checks: dict) -> dict[str, str]:
    return {check_id: item["status"] for check_id, item in checks.items()}


@pytest.fixture(scope="module")
def pair(request) -> Pair:
    """Two real-mesh sims, joined, as `make cluster-east cluster-west` leaves a laptop."""
    from workshop.pytest_cluster import _real_nodes_possible
    from workshop.sim import istio_release, multicluster

    _real_nodes_possible()
    sims = multicluster.sims()
    were_up = {name for name, sim in sims.items() if sim.is_up() and sim.mode() == "real"}
    started = time.monotonic()
    timings = multicluster.up(sims, log=lambda message: None)
    print(f"level 7 pair: {timings}, {time.monotonic() - started:.0f} s in all", file=sys.stderr)
    if os.environ.get("WORKSHOP_SIM_KEEP") != "1":
        for name, sim in sims.items():
            if name not in were_up:
                request.session.config.add_cleanup(sim.down)
    env = istio_release.learner_env()
    path = os.pathsep.join([str(Path(env["ISTIO_DIR"]) / "bin"), str(REPO_ROOT / ".bin"),
                            str(REPO_ROOT / ".venv" / "bin"), os.environ.get("PATH", "")])
    env.update(KUBECONFIG=str(multicluster.KUBECONFIG), PATH=path, NO_COLOR="1")
    for variable in ("MAKEFLAGS", "EAST_CONTEXT", "WEST_CONTEXT", "WORKSHOP_PEER_CONTEXT"):
        env.pop(variable, None)
    return Pair(multicluster.KUBECONFIG, env)


def test_the_two_clusters_share_a_network_and_nothing_else(pair):
    """A pod-free probe of the join: each node reaches the other cluster's API on its node address, no default route."""
    from workshop.sim import multicluster, nodenet

    sims = multicluster.sims()
    east_node, west_node = sims["east"].real_nodes()[1], sims["west"].real_nodes()[0]
    # The second east node (not the one serving the API) dials west's first node on 6443: a TLS handshake.
    done = subprocess.run(["nsenter", f"--net={east_node.net.netns_path}", "--", "curl", "-sk", "-o", "/dev/null",
                           "-w", "%{http_code}", "--max-time", "5", f"https://{west_node.net.node_ip}:6443/readyz"],
                          capture_output=True, text=True, timeout=30)
    assert done.stdout in {"200", "401", "403"}, (done.stdout, done.stderr)
    routes = nodenet.in_netns(east_node.net.netns, "ip", "route", "show")
    assert "default" not in routes, routes
    # A route lookup sends nothing: an address outside both sims has no way out of the node.
    lookup = subprocess.run(["nsenter", f"--net={east_node.net.netns_path}", "--", "ip", "route", "get",
                             "198.51.100.1"], capture_output=True, text=True)
    assert lookup.returncode != 0 and "unreachable" in lookup.stderr, lookup


@pytest.fixture(scope="module")
def started(pair: Pair) -> Pair:
    pair.make("reset-7")
    started = time.monotonic()
    pair.make("lab-7")
    print(f"make lab-7: {time.monotonic() - started:.0f} s", file=sys.stderr)
    return pair


def test_the_starting_state_has_the_mesh_but_not_the_steps(started):
    code, checks = started.check()
    assert code == 1, statuses(checks)
    found = statuses(checks)
    assert {found[i] for i in DONE_BY_LAB} == {"passed"}, found
    not_failed = {i: checks[i] for i in ALL_CHECKS - DONE_BY_LAB if found[i] != "failed"}
    assert not not_failed, f"steps not done yet, but their checks did not fail: {not_failed}"
    assert checks["l7-remote-secrets"]["mismatches"] == [
        '[east] secrets labelled istio/multiCluster=true (namespace istio-system): expected one for cluster west, '
        'got none',
        '[west] secrets labelled istio/multiCluster=true (namespace istio-system): expected one for cluster east, '
        'got none']
    assert checks["l7-account-both"]["mismatches"][0].startswith(
        "[east] deployment/account (namespace workshop): expected it to exist")
    assert "step 4" in checks["l7-cross-cluster"]["hint"]


def test_both_clusters_share_one_root_and_not_one_intermediate(started):
    roots = {(STATE_DIR / "certs" / name / "root-cert.pem").read_text() for name in ("east", "west")}
    intermediates = {(STATE_DIR / "certs" / name / "ca-cert.pem").read_text() for name in ("east", "west")}
    assert len(roots) == 1 and len(intermediates) == 2
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(STATE_DIR / "certs" / "root-cert.pem"),
                             str(STATE_DIR / "certs" / "west" / "ca-cert.pem")], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr


def test_running_the_lab_again_rewrites_stale_gateway_addresses(started):
    """After a restart the nodes' addresses change: `make lab-7` again must put the new ones in meshNetworks."""
    stale = "198.51.100.7"  # TEST-NET-2: a documentation address, only ever written as text here
    for context in (started.east, started.west):
        networks = started.kubectl(context, "-n", "istio-system", "get", "configmap", "istio",
                                   "-o", "jsonpath={.data.meshNetworks}").stdout
        assert "address:" in networks, f"[{context}] configmap/istio has no meshNetworks gateway:\n{networks}"
        rewritten = re.sub(r"address: \S+", f"address: {stale}", networks)
        started.kubectl(context, "-n", "istio-system", "patch", "configmap", "istio", "--type=merge",
                        "-p", json.dumps({"data": {"meshNetworks": rewritten}}))
    code, checks = started.check("-k", "mesh_networks")
    assert checks["l7-mesh-networks"]["status"] == "failed", checks
    assert f'got "address {stale} port 31443"' in "\n".join(checks["l7-mesh-networks"]["mismatches"])
    assert "make lab-7 again" in checks["l7-mesh-networks"]["hint"]
    started.make("lab-7")
    for context in (started.east, started.west):
        networks = started.kubectl(context, "-n", "istio-system", "get", "configmap", "istio",
                                   "-o", "jsonpath={.data.meshNetworks}").stdout
        assert stale not in networks, f"[{context}] make lab-7 kept the stale gateway address:\n{networks}"
    code, checks = started.check("-k", "mesh_networks")
    assert checks["l7-mesh-networks"]["status"] == "passed", checks


@pytest.fixture(scope="module")
def solved(started: Pair) -> Pair:
    started.make("solve-7")
    return started


def test_solve_makes_every_check_pass(solved):
    code, checks = solved.check()
    assert code == 0, {i: (c["status"], c.get("mismatches")) for i, c in checks.items() if c["status"] != "passed"}
    assert set(statuses(checks).values()) == {"passed"} and set(checks) == ALL_CHECKS


def test_a_plain_apply_got_pods_with_istiods_sidecar(solved):
    """As on kind: istiod's own webhook injected the page's `kubectl apply` of account, per cluster."""
    for name, context in (("east", solved.east), ("west", solved.west)):
        pods = yaml.safe_load(solved.kubectl(context, "-n", "workshop", "get", "pods", "-l", "app=account",
                                             "-o", "yaml").stdout)["items"]
        assert pods, f"no account pod in {context}"
        sidecar = next(c for c in pods[0]["spec"]["initContainers"] if c["name"] == "istio-proxy")
        env = {item["name"]: item.get("value") for item in sidecar["env"]}
        assert (env["ISTIO_META_CLUSTER_ID"], env["ISTIO_META_NETWORK"]) == (name, f"network-{name}")


def test_the_remote_secrets_name_the_other_clusters_node_address(solved):
    """istioctl's own secret, whose server is west's first node on 6443, as the page's $WEST_IP."""
    secret = json.loads(solved.kubectl(solved.east, "-n", "istio-system", "get", "secret",
                                       "istio-remote-secret-west", "-o", "json").stdout)
    assert secret["metadata"]["labels"] == {"istio/multiCluster": "true"}
    assert secret["metadata"]["annotations"]["networking.istio.io/cluster"] == "west"
    west_ip = solved.kubectl(solved.west, "get", "nodes", "-o",
                             "jsonpath={.items[0].status.addresses[?(@.type==\"InternalIP\")].address}").stdout
    assert west_ip and f"server: https://{west_ip}:6443" in base64.b64decode(secret["data"]["west"]).decode()


def with_server(pair: Pair, server: str) -> None:
    """east's remote secret for west, its kubeconfig pointed at ``server``."""
    secret = json.loads(pair.kubectl(pair.east, "-n", "istio-system", "get", "secret",
                                     "istio-remote-secret-west", "-o", "json").stdout)
    payload = re.sub(r"server: \S+", f"server: {server}", base64.b64decode(secret["data"]["west"]).decode())
    pair.kubectl(pair.east, "-n", "istio-system", "patch", "secret", "istio-remote-secret-west", "--type=merge",
                 "-p", json.dumps({"data": {"west": base64.b64encode(payload.encode()).decode()}}))


@pytest.mark.parametrize("server,shown", [
    ("https://127.0.0.1:6443", 'got "https://127.0.0.1:6443"'),
    ("https://:6443", 'got "https://:6443"'),
    ("https://198.51.100.9:6443", "an address of cluster west's API server"),  # TEST-NET-2: no cluster's
])
def test_a_remote_secret_to_an_address_west_has_not_fails(solved, server, shown):
    with_server(solved, server)
    try:
        code, checks = solved.check("-k", "remote_secrets")
        assert checks["l7-remote-secrets"]["status"] == "failed", checks
        assert shown in "\n".join(checks["l7-remote-secrets"]["mismatches"]), checks
        assert "--server" in checks["l7-remote-secrets"]["hint"]
    finally:
        solved.make("solve-7")
    code, checks = solved.check("-k", "remote_secrets")
    assert checks["l7-remote-secrets"]["status"] == "passed", checks


def test_a_missing_remote_secret_is_named_with_its_cluster(solved):
    solved.kubectl(solved.west, "-n", "istio-system", "delete", "secret", "istio-remote-secret-east")
    try:
        code, checks = solved.check()
        assert code == 1
        assert checks["l7-remote-secrets"]["mismatches"] == [
            '[west] secrets labelled istio/multiCluster=true (namespace istio-system): expected one for cluster east, '
            'got none']
    finally:
        solved.make("solve-7")


def test_without_the_failover_rule_the_check_says_so(solved):
    solved.kubectl(solved.west, "-n", "workshop", "delete", "destinationrule", "account")
    try:
        code, checks = solved.check("-k", "check_failover")
        assert checks["l7-failover"]["status"] == "failed", checks
        assert "[west] destinationrule/account" in checks["l7-failover"]["mismatches"][0]
        assert "outlierDetection" in checks["l7-failover"]["hint"]
    finally:
        solved.make("solve-7")


def fresh_loadgen(pair: Pair) -> None:
    """loadgen's record of answers lives as long as its pod: a new pod starts with none."""
    pair.kubectl(pair.east, "-n", "workshop", "rollout", "restart", "deployment/loadgen")
    pair.kubectl(pair.east, "-n", "workshop", "rollout", "status", "deployment/loadgen", "--timeout=120s")


def test_failover_serves_east_from_west_when_east_has_no_account(solved):
    """Step 5 with real requests: with the rule, east's calls stay home (and l7-cross-cluster fails);
    account scaled to 0 in east, every call is answered by west (and it passes)."""
    pair = solved
    fresh_loadgen(pair)
    home = wait_until("east's calls are answered by east only (the failover rule reached the sidecar)",
                      lambda: (lambda pods: pods if all(p.startswith("east/") for p in pods) else None)(
                          pair.answered_by()), timeout=60, interval=2)
    print(f"with the rule, east's calls: {home}", file=sys.stderr)
    code, checks = pair.check("-k", "cross_cluster")
    assert checks["l7-cross-cluster"]["status"] == "failed", checks
    assert "step 5's failover" in checks["l7-cross-cluster"]["hint"]
    pair.kubectl(pair.east, "-n", "workshop", "scale", "deployment/account", "--replicas=0")
    try:
        pair.kubectl(pair.east, "-n", "workshop", "wait", "--for=delete", "pod", "-l", "app=account", "--timeout=120s")
        started = time.monotonic()
        away = wait_until("every call from east is answered by west",
                          lambda: (lambda pods: pods if pods and all(p.startswith("west/") for p in pods) else None)(
                              pair.answered_by()), timeout=60, interval=2)
        print(f"east's account gone: answers {away} after {time.monotonic() - started:.1f} s", file=sys.stderr)
        code, checks = pair.check("-k", "cross_cluster")
        assert checks["l7-cross-cluster"]["status"] == "passed", checks
    finally:
        pair.kubectl(pair.east, "-n", "workshop", "scale", "deployment/account", "--replicas=1")
        pair.kubectl(pair.east, "-n", "workshop", "rollout", "status", "deployment/account", "--timeout=120s")


def test_an_account_without_its_sidecar_is_caught(solved):
    pair = solved
    pair.kubectl(pair.west, "label", "namespace", "workshop", "istio-injection-")
    try:
        pair.kubectl(pair.west, "-n", "workshop", "rollout", "restart", "deployment/account")
        pair.kubectl(pair.west, "-n", "workshop", "rollout", "status", "deployment/account", "--timeout=120s")
        # The old pod, with its sidecar, drains for a while after the rollout: wait until it is gone.
        pair.kubectl(pair.west, "-n", "workshop", "wait", "--for=delete", "pod", "-l",
                     "app=account,security.istio.io/tlsMode=istio", "--timeout=120s")
        code, checks = pair.check("-k", "account_both")
        assert checks["l7-account-both"]["status"] == "failed", checks
        assert "ready istio-proxy sidecar" in "\n".join(checks["l7-account-both"]["mismatches"])
    finally:
        pair.kubectl(pair.west, "label", "namespace", "workshop", "istio-injection=enabled")
        pair.kubectl(pair.west, "-n", "workshop", "rollout", "restart", "deployment/account")
        pair.kubectl(pair.west, "-n", "workshop", "rollout", "status", "deployment/account", "--timeout=120s")


def test_running_the_solution_twice_changes_nothing(solved):
    """What solve writes keeps its generation (specs) and resourceVersion (the remote secrets).

    istiod rewrites ConfigMaps of its own (leader election) and controllers write statuses: not compared.
    """
    specs = ("get", "deployments,destinationrules,gateways.networking.istio.io", "-A", "-o",
             "jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}={.metadata.generation}"
             "{'\\n'}{end}")
    services = ("-n", "workshop", "get", "services", "-o",
                "jsonpath={range .items[*]}service/{.metadata.name}={.metadata.resourceVersion}{'\\n'}{end}")
    secrets = ("-n", "istio-system", "get", "secrets", "-l", "istio/multiCluster=true", "-o",
               "jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion}{'\\n'}{end}")

    def reading() -> dict[str, str]:
        return {context: "".join(solved.kubectl(context, *query).stdout for query in (specs, services, secrets))
                for context in (solved.east, solved.west)}

    before = reading()
    solved.make("solve-7")
    after = reading()
    changed = {context: sorted(set(after[context].splitlines()) ^ set(before[context].splitlines()))
               for context in before}
    assert not any(changed.values()), changed


def test_reset_leaves_nothing_behind_in_either_cluster(solved):
    solved.make("reset-7")
    for context in (solved.east, solved.west):
        for namespace in ("workshop", "istio-system"):
            assert solved.kubectl(context, "get", "namespace", namespace, check=False).returncode != 0, \
                f"namespace {namespace} is still in {context}"
        leftovers = solved.kubectl(context, "get", "clusterroles,clusterrolebindings", "-o", "name").stdout
        assert "istio" not in leftovers, f"Istio's cluster-wide objects are still in {context}:\n{leftovers}"
    assert not STATE_DIR.exists()


def test_the_checks_helpers_do_what_their_docstring_says():
    import doctest
    import importlib.util

    path = REPO_ROOT / "labs" / "07-multicluster" / "checks" / "level7_mesh.py"
    spec = importlib.util.spec_from_file_location("level7_mesh", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert doctest.testmod(module).failed == 0
    assert module.kubeconfig_servers("clusters:\n- name: west\n  cluster: {server: 'https://172.18.0.3:6443'}\n") == [
        "https://172.18.0.3:6443"]
    assert module.kubeconfig_servers("not: [valid") == []
    # an empty $WEST_IP on a real cluster: a secret no istiod can use
    assert module.unreachable_from_pods("https://:6443") and not module.unreachable_from_pods("https://172.18.0.3:6443")
    assert module.has_ready_sidecar({"spec": {"initContainers": [{"name": "istio-proxy"}]},
                                     "status": {"initContainerStatuses": [{"name": "istio-proxy", "ready": False}]}}) is False
