"""Step "mutual TLS": STRICT for namespace workshop, and plaintext from outside the mesh refused."""

from level5_mesh import ISTIO_NAMESPACE

from workshop.grading import N_, check, verify

DOCS = "https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/"


def namespace_mode(cluster, namespace: str) -> tuple[str | None, dict | None]:
    """The mTLS mode in force for the namespace's workloads, and the policy that sets it.

    A PeerAuthentication without selector applies to its namespace; in istio-system (the
    root namespace) to the whole mesh; the namespace's own wins over the mesh's."""
    for scope in (namespace, ISTIO_NAMESPACE):
        # Istio takes the oldest when there are several: so does the check.
        wide = sorted((policy for policy in cluster.list("PeerAuthentication", scope)
                       if not (policy.get("spec") or {}).get("selector")),
                      key=lambda policy: (policy["metadata"].get("creationTimestamp", ""), policy["metadata"]["name"]))
        if wide:
            return ((wide[0].get("spec") or {}).get("mtls") or {}).get("mode", "PERMISSIVE"), wide[0]
    return None, None


def tls_settings(spec: dict):
    """(where, tls mode) for every place a DestinationRule sets client TLS: the rule's traffic policy,
    each of its port-level settings, and the same inside every subset (a subset's own policy wins)."""
    policies = [("trafficPolicy", spec.get("trafficPolicy") or {})]
    policies += [(f"subsets[{subset.get('name')}].trafficPolicy", subset.get("trafficPolicy") or {})
                 for subset in spec.get("subsets") or []]
    for where, policy in policies:
        yield where, (policy.get("tls") or {}).get("mode")
        for index, port in enumerate(policy.get("portLevelSettings") or []):
            yield f"{where}.portLevelSettings[{index}]", (port.get("tls") or {}).get("mode")


def client_tls_rules(cluster, namespace: str) -> list[dict]:
    """The DestinationRules that set how clients call the namespace's services: its own, and those of
    the root namespace (istio-system, mesh-wide) whose host names one of them or a wildcard."""
    suffix = f".{namespace}.svc.cluster.local"
    mesh_wide = [rule for rule in cluster.list("DestinationRule", ISTIO_NAMESPACE)
                 if str((rule.get("spec") or {}).get("host", "")).endswith(suffix)
                 or str((rule.get("spec") or {}).get("host", "")).startswith("*")]
    return cluster.list("DestinationRule", namespace) + mesh_wide


STRICT_HINT = N_("A PeerAuthentication applies to the namespace it is created in: put it in workshop (or istio-system "
                 "for the whole mesh), mode STRICT: kubectl apply -f labs/05-istio/manifests/peer-authentication-strict.yaml")


@check(id="l5-mtls-strict", title=N_("mutual TLS is STRICT for namespace workshop, with no workload exempted"),
       step="mutual TLS", points=2, timeout=0, hint=STRICT_HINT,
       docs=DOCS)
def check_mtls_strict(cluster, namespace):
    mode, policy = namespace_mode(cluster, namespace)
    with verify() as v:
        if mode != "STRICT":
            v.fail(f"peerauthentication for namespace {namespace} (or {ISTIO_NAMESPACE}).spec.mtls.mode", "STRICT",
                   mode or "<no PeerAuthentication: PERMISSIVE by default>", policy)
        others = [item for item in cluster.list("PeerAuthentication", namespace)
                  if not (item.get("spec") or {}).get("selector") and item is not policy]
        for item in others:
            v.fail(f"peerauthentication/{item['metadata']['name']}", "<one namespace-wide PeerAuthentication>",
                   "<a second one>", item)
            v.hint(f"Istio reads only the oldest namespace-wide PeerAuthentication: kubectl -n {namespace} delete "
                   f"peerauthentication {item['metadata']['name']}")
        for item in cluster.list("PeerAuthentication", namespace):
            spec = item.get("spec") or {}
            if spec.get("selector") and (spec.get("mtls") or {}).get("mode") in ("PERMISSIVE", "DISABLE"):
                v.fail(f"peerauthentication/{item['metadata']['name']}.spec.mtls.mode", "<STRICT or not set>",
                       spec["mtls"]["mode"], item)
                v.hint(f"peerauthentication/{item['metadata']['name']} exempts its pods from STRICT: kubectl -n "
                       f"{namespace} delete peerauthentication {item['metadata']['name']}")
        for rule in client_tls_rules(cluster, namespace):
            for where, mode in tls_settings(rule.get("spec") or {}):
                if mode in (None, "ISTIO_MUTUAL"):
                    continue
                name = rule["metadata"]["name"]
                v.fail(f"destinationrule/{name}.spec.{where}.tls.mode", "<not set, or ISTIO_MUTUAL>", mode, rule)
                v.hint(f"destinationrule/{name} (namespace {rule['metadata'].get('namespace')}) makes clients send "
                       f"{'plaintext' if mode == 'DISABLE' else 'TLS without their mesh certificate'} at {where}.tls "
                       f"(mode {mode}), which STRICT servers refuse: remove that tls (Istio then uses ISTIO_MUTUAL), "
                       f"kubectl replace -f the lab's destination-rule file for {rule['spec'].get('host')}.")
        if v.hints and mode != "STRICT":
            v.hints.insert(0, STRICT_HINT)  # the namespace's mode is wrong too: its fix comes first


@check(id="l5-plaintext-refused", title=N_("a plaintext request from outside the mesh to account is refused"),
       step="mutual TLS", points=1, timeout=10, data_plane=True,
       hint=N_("If account still answers plaintext, the PeerAuthentication is not in force for it: is it in namespace "
       "workshop, mode STRICT, and does account's pod have its sidecar (kubectl -n workshop get pods: 2/2)?"),
       docs=DOCS)
def check_plaintext_refused(cluster, namespace):
    from level5_traffic import plaintext_verdict

    from workshop.grading.httpprobe import PROXY_FAILURE, Answer, ProbeError

    # The API server is outside the mesh: its service proxy speaks plain HTTP to a pod of account.
    prefix = f"/api/v1/namespaces/{namespace}/services/account:http/proxy"

    def get(path: str) -> Answer:
        status, body = cluster.send(prefix + path, accept="*/*")
        if status in (502, 503) and (PROXY_FAILURE.search(body or b"") or b"reset by peer" in (body or b"")):
            raise ProbeError(f"the API server's connection was refused ({status})")
        return Answer(status, body, "service proxy")

    slices = cluster.list("EndpointSlice", namespace, selector={"kubernetes.io/service-name": "account"})
    ready = sum(1 for piece in slices for endpoint in piece.get("endpoints") or []
                if (endpoint.get("conditions") or {}).get("ready", True))
    with verify() as v:
        if not ready:  # refused for the wrong reason: there is nobody to answer
            v.fail("service/account ready endpoints", "<1 or more>", 0)
            return
        refused, what = plaintext_verdict(get)
        if not refused:
            v.fail("plaintext GET account/healthz from the API server", "<refused>", what)
