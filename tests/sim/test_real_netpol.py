"""NetworkPolicy is enforced on the real-node sim, as kind's kindnet enforces it, with real traffic.

kube-network-policies (built from its module by workshop/sim/netpol.py, installed with upstream's
install.yaml) judges the first packet of every connection; the iptables-legacy NFQUEUE rule of
each node stands in for its nftables queue rule, which this kernel lacks. A client pod calls two
busybox web servers: `near` on its own node (the packet crosses the node's bridge) and `far` on
the other node (it crosses both nodes). Without enforcement (the queue rule removed from the
nodes: checked by hand, see docs/contributing/testing.md) the call the policies deny still
answers and the name a policy forgets still resolves: both policy tests fail.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from workshop.pytest_cluster import REAL_NODE_SIM
from workshop.waits import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.containers]

WAIT = 180
IMAGE = "localhost/workshop/sim-test-busybox:dev"  # tests/sim/test_real_nodes.py's: busybox-static alone
CONNECT_TIMEOUT = 3  # seconds nc waits for a connection, as the page's `timeout=3`

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: %(name)s, labels: {app: %(name)s}}
spec:
  nodeName: %(node)s
  securityContext: {runAsNonRoot: true, runAsUser: 65534}
  containers:
    - name: web
      image: %(image)s
      imagePullPolicy: Never
      command: [/bin/busybox, sh, -c]
      args: ['mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www']
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
      volumeMounts: [{name: tmp, mountPath: /tmp}]
  volumes: [{name: tmp, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: %(name)s}
spec:
  selector: {app: %(name)s}
  ports: [{port: 80, targetPort: 8080}]
"""

DEFAULT_DENY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"""

ALLOW_DNS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}},
            podSelector: {matchLabels: {k8s-app: kube-dns}}}]
      ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
"""


def egress_to(*targets: str) -> str:
    peers = ", ".join(f"{{podSelector: {{matchLabels: {{app: {target}}}}}}}" for target in targets)
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: client}}
spec:
  podSelector: {{matchLabels: {{app: client}}}}
  policyTypes: [Egress]
  egress: [{{to: [{peers}], ports: [{{port: 8080}}]}}]
"""


def ingress_from_client(target: str) -> str:
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {target}}}
spec:
  podSelector: {{matchLabels: {{app: {target}}}}}
  policyTypes: [Ingress]
  ingress: [{{from: [{{podSelector: {{matchLabels: {{app: client}}}}}}], ports: [{{port: http}}]}}]
"""


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = WAIT) -> subprocess.CompletedProcess:
    from workshop import REPO_ROOT

    return subprocess.run([str(REPO_ROOT / ".bin" / "kubectl"), f"--kubeconfig={kubeconfig}", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def app(real_kubeconfig):
    """`client` and `near` on workshop-worker, `far` on workshop-worker2, in a namespace of their own."""
    if not os.environ.get("WORKSHOP_KUBECONFIG"):
        from workshop.sim.cluster import Sim
        from workshop.sim.images import scratch_image

        # busybox-static: sh, httpd, nc and nslookup in one static binary (make sim-node-setup installs it).
        Sim(REAL_NODE_SIM).load([scratch_image(IMAGE, {"/bin/busybox": Path("/bin/busybox")}, ["/bin/busybox"])])
    namespace = f"t-real-netpol-{os.getpid()}"
    assert kubectl(real_kubeconfig, "create", "namespace", namespace).returncode == 0
    pods = "---\n".join(PODS % {"name": name, "node": node, "image": IMAGE}
                        for name, node in (("client", "workshop-worker"), ("near", "workshop-worker"),
                                           ("far", "workshop-worker2")))
    applied = kubectl(real_kubeconfig, "-n", namespace, "apply", "-f", "-", stdin=pods)
    assert applied.returncode == 0, applied.stderr
    ready = kubectl(real_kubeconfig, "-n", namespace, "wait", "--for=condition=Ready", "pod", "--all",
                    f"--timeout={WAIT}s")
    assert ready.returncode == 0, ready.stderr + kubectl(real_kubeconfig, "-n", namespace, "get", "pods,events").stdout
    yield namespace
    kubectl(real_kubeconfig, "delete", "namespace", namespace, "--wait=false")


def apply(kubeconfig: Path, namespace: str, *manifests: str) -> None:
    done = kubectl(kubeconfig, "-n", namespace, "apply", "-f", "-", stdin="---\n".join(manifests))
    assert done.returncode == 0, done.stderr


def remove_policies(kubeconfig: Path, namespace: str) -> None:
    kubectl(kubeconfig, "-n", namespace, "delete", "networkpolicy", "--all")


def call(kubeconfig: Path, namespace: str, host: str) -> tuple[str, float, str]:
    """From the client pod, GET / of ``host`` port 80: (the serving pod's name or "", seconds, nc's errors)."""
    script = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w {CONNECT_TIMEOUT} {host} 80 | tail -n 1"
    started = time.monotonic()
    done = kubectl(kubeconfig, "-n", namespace, "exec", "client", "--", "/bin/busybox", "sh", "-c", script, timeout=60)
    return done.stdout.strip(), time.monotonic() - started, done.stderr


def answers(kubeconfig: Path, namespace: str, host: str) -> bool:
    return call(kubeconfig, namespace, host)[0] == host


def dropped(kubeconfig: Path, namespace: str, host: str) -> bool:
    """No answer, and not refused at once: the connection waited its whole timeout (the SYN was dropped)."""
    body, seconds, errors = call(kubeconfig, namespace, host)
    return body == "" and seconds >= CONNECT_TIMEOUT and "refused" not in errors.lower()


def test_without_policies_every_call_answers(real_kubeconfig, app):
    for host in ("near", "far"):
        assert wait_until(f"{host} answers the client", lambda: answers(real_kubeconfig, app, host), timeout=60)


def test_the_queue_rule_stands_in_for_the_nftables_one_on_every_node(real_kubeconfig):
    """The stand-in, named: the same chain in each node's namespace, and the controller running on each
    node with its own nftables table refused (the kernel lacks the queue expression)."""
    from workshop.sim import netpol
    from workshop.sim.cluster import Sim

    if os.environ.get("WORKSHOP_KUBECONFIG"):
        pytest.skip("a kind cluster enforces with kindnet's own nftables rules: no stand-in to look at")
    for node in Sim(REAL_NODE_SIM).real_nodes():
        table = netpol.rules_in(node.net.netns)
        assert f"-A POSTROUTING -j {netpol.CHAIN}" in table, table
        assert f"-j NFQUEUE --queue-num {netpol.QUEUE_ID} --queue-bypass" in table, table
    pods = kubectl(real_kubeconfig, "-n", netpol.NAMESPACE, "get", "pods", "-l", f"app={netpol.NAME}", "-o",
                   "jsonpath={range .items[*]}{.spec.nodeName} {.status.containerStatuses[0].ready}{'\\n'}{end}")
    assert sorted(pods.stdout.split("\n")[:-1]) == ["workshop-worker true", "workshop-worker2 true"], pods.stdout


def test_policies_let_through_only_the_calls_they_allow(real_kubeconfig, app):
    """Deny by default, allow DNS, client → near only: far is dropped by far's own ingress (judged on
    workshop-worker2), then, with far open to the client, by the client's egress (on workshop-worker)."""
    try:
        apply(real_kubeconfig, app, DEFAULT_DENY, ALLOW_DNS, egress_to("near", "far"), ingress_from_client("near"))
        assert wait_until("the client's call to far is dropped (far admits nobody)",
                          lambda: dropped(real_kubeconfig, app, "far"), timeout=60)
        assert answers(real_kubeconfig, app, "near"), "client → near is allowed both ways, by name (DNS allowed)"
        apply(real_kubeconfig, app, egress_to("near"), ingress_from_client("far"))
        assert wait_until("the client's call to far is dropped (the client may call near only)",
                          lambda: dropped(real_kubeconfig, app, "far"), timeout=60)
        assert answers(real_kubeconfig, app, "near")
    finally:
        remove_policies(real_kubeconfig, app)
    assert wait_until("far answers again once the policies are gone", lambda: answers(real_kubeconfig, app, "far"),
                      timeout=60)


def test_a_policy_that_forgets_dns_breaks_name_lookups(real_kubeconfig, app):
    """Egress to near only, no DNS rule: near's ClusterIP answers, its name no longer resolves."""
    cluster_ip = kubectl(real_kubeconfig, "-n", app, "get", "service", "near", "-o", "jsonpath={.spec.clusterIP}").stdout
    try:
        apply(real_kubeconfig, app, egress_to("near"), ingress_from_client("near"))

        def lookup_fails():
            done = kubectl(real_kubeconfig, "-n", app, "exec", "client", "--", "/bin/busybox", "nslookup",
                           f"near.{app}.svc.cluster.local", timeout=60)
            return done.returncode != 0 and cluster_ip not in done.stdout

        assert wait_until("the client's DNS lookup of near fails", lookup_fails, timeout=60)
        assert call(real_kubeconfig, app, cluster_ip)[0] == "near", "near's ClusterIP is allowed: only DNS is missing"
        apply(real_kubeconfig, app, ALLOW_DNS)
        assert wait_until("near answers by name once DNS is allowed", lambda: answers(real_kubeconfig, app, "near"),
                          timeout=60)
    finally:
        remove_policies(real_kubeconfig, app)
