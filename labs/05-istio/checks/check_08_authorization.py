"""Step "authorization": deny by default, then allow exactly the real call chain, by identity."""

from level5_mesh import (ISTIO_NAMESPACE, allowed_principals, allows_everything_else, applies_to, denies_by_default,
                         principal)

from workshop.grading import N_, check, verify

DOCS = "https://istio.io/latest/docs/tasks/security/authorization/authz-http/"
INGRESS_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
# Who may call whom: the real call chain, plus loadgen (in the mesh) calling the gateway.
CALLERS = {"gateway": ("ingress", "loadgen"), "customer": ("gateway",), "order": ("customer",), "account": ("order",)}


@check(id="l5-deny-by-default", title=N_("namespace workshop denies by default (an ALLOW policy that matches nothing)"),
       step="authorization", points=1, timeout=0,
       hint=N_("The allow-nothing policy has an empty spec and must be in namespace workshop (a policy in another "
       "namespace protects that namespace only): kubectl apply -f labs/05-istio/manifests/authorization-policy-allow-nothing.yaml"),
       docs="https://istio.io/latest/docs/reference/config/security/authorization-policy/")
def check_deny_by_default(cluster, namespace):
    policies = cluster.list("AuthorizationPolicy", namespace)
    with verify() as v:
        if not any(denies_by_default(policy) for policy in policies):
            v.fail(f"authorizationpolicy in namespace {namespace}", "<one with spec: {}>",
                   ", ".join(p["metadata"]["name"] for p in policies) or "none")


def service_account_of(cluster, namespace: str, app: str) -> str | None:
    deployment = cluster.get("Deployment", app, namespace)
    if deployment is None:
        return None
    return deployment["spec"]["template"]["spec"].get("serviceAccountName") or "default"


@check(id="l5-allow-chain", title=N_("each service allows only its real callers, by ServiceAccount principal"),
       step="authorization", points=2, timeout=0,
       hint=N_("A principal is cluster.local/ns/<namespace>/sa/<ServiceAccount of the caller>: account allows order, "
       "order allows customer, customer allows gateway, gateway allows the ingress gateway and loadgen; each policy's "
       "selector (app: <service>) must match the callee's pods. See authorization-policy-allow-*.yaml."),
       docs=DOCS)
def check_allow_chain(cluster, namespace):
    # The effective policy, as Istio computes it: every ALLOW policy that applies to the pod, the
    # namespace-wide ones (no selector) and those of the root namespace included.
    everything = cluster.list("AuthorizationPolicy", namespace) + cluster.list("AuthorizationPolicy", ISTIO_NAMESPACE)
    policies = [p for p in everything
                if (p.get("spec") or {}).get("action", "ALLOW") == "ALLOW" and not denies_by_default(p)]
    with verify() as v:
        for policy in everything:
            action = (policy.get("spec") or {}).get("action", "ALLOW")
            if action != "ALLOW":
                ref = f"authorizationpolicy/{policy['metadata']['name']} (namespace {policy['metadata']['namespace']})"
                v.fail(f"{ref}.spec.action", "<ALLOW: the chain is built from allow rules only>", action, policy)
                v.hint(f"{ref} has action {action}, which the lab does not use: kubectl -n "
                       f"{policy['metadata']['namespace']} delete authorizationpolicy {policy['metadata']['name']} "
                       "(or make solve-5).")
        for callee, callers in CALLERS.items():
            wanted = set()
            for caller in callers:
                if caller == "ingress":
                    wanted.add(INGRESS_PRINCIPAL)
                    continue
                account = service_account_of(cluster, namespace, caller)
                wanted.add(principal(account or caller, namespace))
            labels = {"app": callee}
            selecting = [p for p in policies if applies_to(p, labels)]
            if not selecting:
                v.fail(f"authorizationpolicy selecting app: {callee}", "<one, action ALLOW>", "none")
                continue
            allowed = set().union(*(allowed_principals(p) for p in selecting))
            for policy in selecting:
                for problem in allows_everything_else(policy):
                    v.fail(f"authorizationpolicy/{policy['metadata']['name']}.spec", "<principals only>", problem, policy)
                    wide = "" if (policy.get("spec") or {}).get("selector") else " (no selector: it applies to every pod)"
                    v.hint(f"authorizationpolicy/{policy['metadata']['name']}{wide} {problem}: allow by principals "
                           "only, one policy per service as in labs/05-istio/manifests/authorization-policy-allow-*.yaml;"
                           f" kubectl -n {policy['metadata']['namespace']} delete authorizationpolicy "
                           f"{policy['metadata']['name']} if the lab has no such policy.")
            if allowed != wanted:
                v.fail(f"authorizationpolicy for {callee}: principals", sorted(wanted), sorted(allowed), selecting[0])
