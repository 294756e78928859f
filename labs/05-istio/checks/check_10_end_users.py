"""Step "end users": the ingress gateway knows who the user is (a JWT), and only users place orders."""

import importlib.util
import json
from pathlib import Path

from level5_mesh import ISTIO_NAMESPACE
from level5_policy import Request, Unknown, verdict

from workshop.grading import N_, check, verify

DOCS = "https://istio.io/latest/docs/tasks/security/authentication/authn-policy/#end-user-authentication"
END_USERS = Path(__file__).resolve().parents[1] / "end-users"
ISSUER = "workshop.local"
USER_HEADER = "x-workshop-user"
INGRESS = "istio-ingressgateway"
# The demo profile's labels of the ingress gateway's pods, when its Deployment cannot be read.
INGRESS_LABELS = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
SUMMARY = "/api/customers/1/summary"
ORDERS = "/api/customers/1/orders"
AUTHN_FILE = "labs/05-istio/manifests/request-authentication-ingress.yaml"
POLICY_FILE = "labs/05-istio/manifests/authorization-policy-ingress-users.yaml"


def issuer():
    """The lab's own token issuer (end-users/issue-token.py), to sign tokens as the learner does."""
    spec = importlib.util.spec_from_file_location("issue_token", END_USERS / "issue-token.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ingress_labels(cluster) -> dict:
    deployment = cluster.get("Deployment", INGRESS, ISTIO_NAMESPACE)
    if deployment is None:
        return INGRESS_LABELS
    return ((deployment["spec"]["template"].get("metadata") or {}).get("labels")) or INGRESS_LABELS


def for_ingress(objects: list[dict], labels: dict) -> list[dict]:
    """The policies of istio-system that apply to the ingress gateway's pods (no selector: all of them)."""
    chosen = []
    for item in objects:
        spec = item.get("spec") or {}
        if spec.get("targetRef") or spec.get("targetRefs"):
            continue  # bound to a Gateway API object, not to these pods
        wanted = (spec.get("selector") or {}).get("matchLabels") or {}
        if all(labels.get(key) == value for key, value in wanted.items()):
            chosen.append(item)
    return chosen


@check(id="l5-jwt-issuer", title=N_("the ingress gateway checks users' tokens against the workshop issuer's key"),
       step="end users", points=1, timeout=0,
       hint=N_("A RequestAuthentication in istio-system selecting the ingress gateway (istio: ingressgateway) needs a "
       "jwtRule with issuer workshop.local, the issuer's public key in jwks, and outputClaimToHeaders sending claim sub "
       "as x-workshop-user: kubectl apply -f labs/05-istio/manifests/request-authentication-ingress.yaml"),
       docs=DOCS)
def check_jwt_issuer(cluster):
    key = json.loads((END_USERS / "issuer-key.json").read_text())
    found = for_ingress(cluster.list("RequestAuthentication", ISTIO_NAMESPACE), ingress_labels(cluster))
    rules = [(item, rule) for item in found for rule in (item.get("spec") or {}).get("jwtRules") or []]
    with verify() as v:
        ours = [(item, rule) for item, rule in rules if rule.get("issuer") == ISSUER]
        if not ours:
            v.fail(f"requestauthentication for the ingress gateway (namespace {ISTIO_NAMESPACE}): jwtRules[].issuer",
                   ISSUER, ", ".join(str(rule.get("issuer")) for _, rule in rules) or "none")
            return
        item, rule = ours[0]
        ref = f"requestauthentication/{item['metadata']['name']}.spec.jwtRules[issuer {ISSUER}]"
        try:
            keys = json.loads(rule.get("jwks") or "{}").get("keys") or []
        except (ValueError, AttributeError):
            keys = []
        if not any(isinstance(k, dict) and k.get("n") == key["n"] and k.get("e") == key["e"] for k in keys):
            got = f"jwksUri {rule['jwksUri']}" if rule.get("jwksUri") else f"{len(keys)} key(s), none the issuer's"
            v.fail(f"{ref}.jwks", "<the public key of labs/05-istio/end-users/issuer-key.json>", got, item)
            v.hint(f"{ref} must hold the workshop issuer's public key inline (jwks), as {AUTHN_FILE} does: "
                   f"kubectl replace -f {AUTHN_FILE}")
        outputs = rule.get("outputClaimToHeaders") or []
        if not any(out.get("header", "").lower() == USER_HEADER and out.get("claim") == "sub" for out in outputs):
            v.fail(f"{ref}.outputClaimToHeaders", f"<header {USER_HEADER} from claim sub>",
                   ", ".join(f"{out.get('header')} from {out.get('claim')}" for out in outputs) or "none", item)
            v.hint(f"The app names the user from header {USER_HEADER}: add outputClaimToHeaders "
                   f"[{{header: {USER_HEADER}, claim: sub}}] to {ref}, as {AUTHN_FILE} does.")


# What a user sends to the ingress gateway, and whether it must pass. A valid token gives the request
# the principal <issuer>/<sub>, and the gateway sets x-workshop-user from it.
ALICE = f"{ISSUER}/alice"
CASES = (
    ("an anonymous read", Request("GET", SUMMARY), True),
    ("an anonymous order", Request("POST", ORDERS), False),
    ("an order by a signed-in user", Request("POST", ORDERS, ALICE, {USER_HEADER: "alice"}), True),
    ("a read by a signed-in user", Request("GET", SUMMARY, ALICE, {USER_HEADER: "alice"}), True),
)


@check(id="l5-users-policy", title=N_("at the ingress, anyone may read and only a signed-in user may place an order"),
       step="end users", points=1, timeout=0,
       hint=N_("An AuthorizationPolicy in istio-system selecting the ingress gateway allows reads (GET) from anyone, "
       "and everything from a request principal workshop.local/*: kubectl apply -f "
       "labs/05-istio/manifests/authorization-policy-ingress-users.yaml"),
       docs="https://istio.io/latest/docs/reference/config/security/authorization-policy/")
def check_users_policy(cluster):
    policies = for_ingress(cluster.list("AuthorizationPolicy", ISTIO_NAMESPACE), ingress_labels(cluster))
    with verify() as v:
        for what, request, should_pass in CASES:
            try:
                allowed, why = verdict(policies, request)
            except Unknown as unknown:
                v.fail(f"authorizationpolicies of the ingress gateway: {unknown}", "<fields this checker judges>",
                       "<a field it cannot judge>")
                v.hint(f"The checker cannot judge {unknown}; write the policy as {POLICY_FILE} does.")
                return
            if allowed != should_pass:
                v.fail(f"ingress gateway, {what} ({request.method} {request.path})",
                       "allowed" if should_pass else "refused", f"{'allowed' if allowed else 'refused'}: {why}")
        if v.mismatches and not policies:
            v.hint(f"No AuthorizationPolicy applies to the ingress gateway: kubectl apply -f {POLICY_FILE}")


@check(id="l5-users-observed", title=N_("through the ingress: a valid token names the user in every hop, a bad one gets "
       "401, and a user named without a token reaches no service"), step="end users", points=1, timeout=10,
       data_plane=True,
       hint=N_("Apply the two manifests of step 10, wait a few seconds for istiod to send them to the ingress gateway, "
       "and check again. A 200 for the expired token, or a user the app believes without a token, means no "
       "RequestAuthentication is in force at the ingress."),
       docs=DOCS)
def check_users_observed(cluster):
    tokens = issuer()
    prefix = f"/api/v1/namespaces/{ISTIO_NAMESPACE}/services/{INGRESS}:http2/proxy"
    # The API server reads the Authorization header itself: the token travels as ?access_token=,
    # the other place a RequestAuthentication looks for one.
    # (what, path, headers, status, the user every hop must name: None for nobody)
    asked = (
        ("a read with alice's token", f"{SUMMARY}?access_token={tokens.issue('alice')}", {}, 200, "alice"),
        ("a read with an expired token", f"{SUMMARY}?access_token={tokens.issue('alice', now=0)}", {}, 401, None),
        # The gateway drops a user header that no valid token vouches for.
        ("a read that names mallory without a token", SUMMARY, {USER_HEADER: "mallory"}, 200, None),
    )
    with verify() as v:
        for what, path, headers, status, user in asked:
            got, body = cluster.send(prefix + path, accept="*/*", headers=headers)
            if got != status:
                v.fail(f"ingress gateway, {what}", status, f"{got} {body[:120].decode(errors='replace')}")
                if status == 401 and got == 200:
                    v.hint("The ingress gateway took an expired token: no RequestAuthentication is in force there "
                           f"(istiod sends one within seconds of kubectl apply): kubectl apply -f {AUTHN_FILE}")
                continue
            if status != 200:
                continue
            try:
                trace = json.loads(body).get("trace") or []
            except (ValueError, AttributeError):
                trace = []
            users = [(hop.get("service"), hop.get("user")) for hop in trace if isinstance(hop, dict)]
            if not users or any(seen != user for _, seen in users):
                v.fail(f"ingress gateway, {what}: the user each hop of the trace names", user or "<nobody>",
                       users or "no trace")
                if user and not v.hints:
                    v.hint("Without outputClaimToHeaders the app never learns the user: kubectl replace -f "
                           f"{AUTHN_FILE}")
