"""Step "network policy": deny by default, allow DNS and exactly the call chain.

The checks ask the policies questions (see netpolicy.py) instead of comparing them with
ours: loadgen → gateway → customer → order → account must be allowed, every other call
between the app's pods, from pods of other namespaces (but to the gateway) and to the
internet denied.

They judge the policies, never traffic: a checker sends nothing into the cluster (it has no
pods/exec, and a call from inside a pod is what a policy judges). Enforcing them is the CNI's
part: kind's kindnet does it with kube-network-policies, and so does the workshop's real-node
test cluster, the same controller with an iptables NFQUEUE rule standing in for its nftables
queue rule (docs/contributing/testing.md, "NetworkPolicy enforcement"); the page's "Prove it"
calls are tested there with real traffic (tests/labs/test_level3_real_nodes.py).
"""

from netpolicy import INTERNET, Pod, ingress, verdict

from workshop.grading import N_, check, verify

NP_DOCS = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
CHAIN = (("loadgen", "gateway"), ("gateway", "customer"), ("customer", "order"), ("order", "account"))
APPS = ("loadgen", "gateway", "customer", "order", "account")
FRONT_DOOR = "gateway"


def app_pod(cluster, namespace: str, name: str) -> Pod:
    """A pod of a workload, from its template: policies apply to pods that do not exist yet, too."""
    deployment = cluster.get("Deployment", name, namespace)
    labels = deployment["spec"]["template"]["metadata"].get("labels", {}) if deployment else {"app": name}
    return Pod(namespace, labels)


def namespace_labels(cluster, *names: str) -> dict:
    """Labels of each namespace (kubernetes.io/metadata.name is set on every one by the API server)."""
    found = {}
    for name in names:
        obj = cluster.get("Namespace", name)
        found[name] = (obj or {}).get("metadata", {}).get("labels") or {"kubernetes.io/metadata.name": name}
    return found


@check(id="l3-default-deny", title=N_("pods of the namespace are isolated by default, in and out"), step="network policy",
       points=1, timeout=0,
       hint=N_("Apply a policy that selects every pod (podSelector: {}) with policyTypes Ingress and Egress and no rule: "
       "kubectl apply -f labs/03-operate/manifests/network-policy-default-deny.yaml"),
       docs=NP_DOCS + "#default-policies")
def check_default_deny(cluster, namespace):
    policies = cluster.list("NetworkPolicy", namespace)
    labels = namespace_labels(cluster, namespace, "default")
    # Pods no policy was written for: a default deny must isolate them both ways.
    newcomer, another = Pod(namespace, {"app": "newcomer"}), Pod(namespace, {"app": "another-newcomer"})
    outsider = Pod("default", {"app": "outsider"})
    with verify() as v:
        for source, target, port in ((newcomer, another, 8080), (outsider, newcomer, 8080), (newcomer, INTERNET, 443)):
            result = verdict(policies, source, target, port, "TCP", labels)
            if result.allowed:
                v.fail(f"traffic {source.name} → {target.name}", "denied (a pod no policy names gets no traffic)",
                       f"allowed ({result.why})")


@check(id="l3-dns-egress", title=N_("every pod may still reach the cluster DNS"), step="network policy", points=1, timeout=0,
       hint=N_("Deny-all egress blocks DNS too, so no service finds another by name. Allow UDP and TCP port 53 to the "
       "kube-dns pods of kube-system: kubectl apply -f labs/03-operate/manifests/network-policy-allow-dns.yaml"),
       docs=NP_DOCS + "#targeting-a-namespace-by-its-name")
def check_dns_egress(cluster, namespace):
    policies = cluster.list("NetworkPolicy", namespace)
    labels = namespace_labels(cluster, namespace, "kube-system")
    dns = Pod("kube-system", {"k8s-app": "kube-dns"}, ports=(("dns", 53), ("dns-tcp", 53)))
    with verify() as v:
        for name in APPS:
            for protocol in ("UDP", "TCP"):
                result = verdict(policies, app_pod(cluster, namespace, name), dns, 53, protocol, labels)
                if not result.allowed:
                    v.fail(f"traffic {name} → kube-dns:53/{protocol}", "allowed", f"denied ({result.why})")


@check(id="l3-call-chain", title=N_("only loadgen → gateway → customer → order → account may call each other"),
       step="network policy", points=3, timeout=0,
       hint=N_("Each service needs a policy allowing ingress from its caller and egress to the service it calls, on "
       "port http: see labs/03-operate/manifests/network-policy-<service>.yaml. A line 'expected denied' means a "
       "rule is too wide (a missing podSelector or ports allows everyone)."),
       docs=NP_DOCS)
def check_call_chain(cluster, namespace):
    policies = cluster.list("NetworkPolicy", namespace)
    outsider = Pod("default", {"app": "outsider"})  # a pod of another namespace
    labels = namespace_labels(cluster, namespace, "default")
    pods = {name: app_pod(cluster, namespace, name) for name in APPS}
    with verify() as v:
        if not policies:
            v.fail(f"networkpolicies in {namespace}", "<policies for the call chain>", "<none>")
            return
        for source in APPS:
            for target in APPS:
                if source == target:
                    continue
                wanted = (source, target) in CHAIN
                # A call that must be denied is refused by its target's own policy (its ingress),
                # so a too-wide egress rule elsewhere cannot open it. The gateway is the front
                # door, open to all: there the callers' egress rules must refuse.
                judge = verdict if wanted or target == FRONT_DOOR else ingress
                result = judge(policies, pods[source], pods[target], 8080, "TCP", labels)
                if result.allowed != wanted:
                    v.fail(f"traffic {source} → {target}", "allowed" if wanted else "denied",
                           f"{'allowed' if result.allowed else 'denied'} ({result.why})")
        for source in APPS:
            for target, where in ((INTERNET, "the internet"), (outsider, "a pod of another namespace")):
                result = verdict(policies, pods[source], target, target.ports[0][1], "TCP", labels)
                if result.allowed:
                    v.fail(f"traffic {source} → {where}", "denied", f"allowed ({result.why})")
        for source, target in CHAIN:
            # The caller's labels on a pod of another namespace: a peer whose namespaceSelector was
            # widened (or dropped for {}) lets it in.
            impostor = Pod("default", pods[source].labels)
            result = ingress(policies, impostor, pods[target], 8080, "TCP", labels)
            if target != FRONT_DOOR and result.allowed:
                v.fail(f"traffic {source} of namespace default → {target}", "denied", f"allowed ({result.why})")
                v.hint(f"networkpolicy/{target}'s ingress peer admits {source} pods of every namespace: drop the "
                       f"namespaceSelector (a podSelector alone means this namespace), kubectl replace -f "
                       f"labs/03-operate/manifests/network-policy-{target}.yaml")
        for target in APPS:
            wanted = target == FRONT_DOOR  # the front door: an ingress controller lives in another namespace
            result = verdict(policies, outsider, pods[target], 8080, "TCP", labels)
            if result.allowed != wanted:
                v.fail(f"traffic from another namespace → {target}", "allowed" if wanted else "denied",
                       f"{'allowed' if result.allowed else 'denied'} ({result.why})")
