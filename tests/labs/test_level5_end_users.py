"""Level 5, step 10 (end users), offline: the lab's token issuer, the policy judge, and the two
static checks on the solution and on mistakes a learner makes. The data-plane check runs on the
real mesh (test_level5_real_mesh.py and the page, tests/docs/test_level5_page.py)."""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB = REPO_ROOT / "labs" / "05-istio"
sys.path[:0] = [str(LAB / "checks"), str(Path(__file__).parent)]

from fakecluster import FakeCluster, documents, load_check, outcome  # noqa: E402
from level5_policy import Request, Unknown, verdict  # noqa: E402

AUTHN = LAB / "manifests" / "request-authentication-ingress.yaml"
POLICY = LAB / "manifests" / "authorization-policy-ingress-users.yaml"
KEY = json.loads((LAB / "end-users" / "issuer-key.json").read_text())


def issuer():
    spec = importlib.util.spec_from_file_location("issue_token", LAB / "end-users" / "issue-token.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(jwk: dict):
    number = lambda field: int.from_bytes(unb64(jwk[field]), "big")  # noqa: E731
    return rsa.RSAPublicNumbers(number("e"), number("n")).public_key()


# --- the issuer: its tokens verify with an independent RSA implementation -------------------------
def test_the_issuers_tokens_verify_against_the_key_the_ingress_trusts():
    jwks = json.loads(documents(AUTHN)[0]["spec"]["jwtRules"][0]["jwks"])
    token = issuer().issue("alice", now=1_800_000_000)
    header, claims, signature = token.split(".")
    public_key(jwks["keys"][0]).verify(unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(),
                                       hashes.SHA256())
    assert json.loads(unb64(header)) == {"alg": "RS256", "typ": "JWT", "kid": "workshop-demo"}
    assert json.loads(unb64(claims)) == {"iss": "workshop.local", "sub": "alice", "iat": 1_800_000_000,
                                         "exp": 1_800_003_600}


def test_a_token_changed_after_signing_does_not_verify():
    header, claims, signature = issuer().issue("alice").split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"iss": "workshop.local", "sub": "admin"}).encode()).rstrip(b"=")
    with pytest.raises(InvalidSignature):
        public_key(KEY).verify(unb64(signature), header.encode() + b"." + forged, padding.PKCS1v15(), hashes.SHA256())


def test_the_issuer_refuses_a_user_name_no_one_could_sign_in_with(capsys):
    assert issuer().main(["alice bob"]) == 2
    assert "usage:" in capsys.readouterr().err


# --- the policy judge --------------------------------------------------------------------------------
LAB_POLICY = documents(POLICY)[0]
SUMMARY, ORDERS = "/api/customers/1/summary", "/api/customers/1/orders"


@pytest.mark.parametrize("request_, allowed", [
    (Request("GET", SUMMARY), True),
    (Request("POST", ORDERS), False),
    (Request("POST", ORDERS, "workshop.local/alice", {"x-workshop-user": "alice"}), True),
    (Request("POST", ORDERS, "elsewhere/alice"), False),
], ids=["anonymous-read", "anonymous-order", "signed-in-order", "other-issuer"])
def test_the_labs_policy_is_judged_as_istio_would(request_, allowed):
    assert verdict([LAB_POLICY], request_)[0] is allowed


def test_deny_wins_and_no_policy_allows_everything():
    deny_orders = {"metadata": {"name": "no-orders"},
                   "spec": {"action": "DENY", "rules": [{"to": [{"operation": {"paths": ["*/orders"]}}]}]}}
    assert verdict([], Request("POST", ORDERS)) == (True, "no ALLOW policy applies")
    assert verdict([LAB_POLICY, deny_orders], Request("POST", ORDERS, "workshop.local/alice"))[0] is False


def test_a_field_the_judge_does_not_know_is_said_not_guessed():
    with_ip = {"metadata": {"name": "ip"}, "spec": {"rules": [{"from": [{"source": {"ipBlocks": ["10.0.0.0/8"]}}]}]}}
    with pytest.raises(Unknown, match="ipBlocks"):
        verdict([with_ip], Request("GET", SUMMARY))


# --- the static checks, on the solution and on mistakes ------------------------------------------------
@pytest.fixture(scope="module")
def checks(pytestconfig):
    # A check module marks its functions with workshop_check, which `workshop check` registers.
    pytestconfig.addinivalue_line("markers", "workshop_check(spec): a self-grading check (workshop.grading.check)")
    return load_check(LAB / "checks", "check_10_end_users")


INGRESS = {"kind": "Deployment", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
           "spec": {"template": {"metadata": {"labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}}}}}


def solution() -> list[dict]:
    return [INGRESS, *documents(AUTHN), *documents(POLICY)]


def authn(objects):
    return next(item for item in objects if item["kind"] == "RequestAuthentication")


def policy(objects):
    return next(item for item in objects if item["kind"] == "AuthorizationPolicy")


def test_both_static_checks_pass_on_the_solution(checks):
    cluster = FakeCluster(solution())
    assert outcome(checks.check_jwt_issuer, cluster=cluster)[0]
    assert outcome(checks.check_users_policy, cluster=cluster)[0]


def wrong_key(objects):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
    n = base64.urlsafe_b64encode(other.n.to_bytes(256, "big")).rstrip(b"=").decode()
    authn(objects)["spec"]["jwtRules"][0]["jwks"] = json.dumps({"keys": [{**KEY, "n": n, "d": None}]})


def jwks_uri(objects):
    rule = authn(objects)["spec"]["jwtRules"][0]
    del rule["jwks"]
    rule["jwksUri"] = "https://issuer.example/keys"


ISSUER_MISTAKES = {
    "none": lambda objects: objects.remove(authn(objects)),
    "other-issuer": lambda objects: authn(objects)["spec"]["jwtRules"][0].update(issuer="https://workshop.local"),
    "wrong-namespace": lambda objects: authn(objects)["metadata"].update(namespace="workshop"),
    "wrong-selector": lambda objects: authn(objects)["spec"]["selector"]["matchLabels"].update(istio="ingress"),
    "wrong-key": wrong_key,
    "jwks-uri": jwks_uri,
    "no-user-header": lambda objects: authn(objects)["spec"]["jwtRules"][0].pop("outputClaimToHeaders"),
    "claim-iss": lambda objects: authn(objects)["spec"]["jwtRules"][0]["outputClaimToHeaders"][0].update(claim="iss"),
}


@pytest.mark.parametrize("mistake", ISSUER_MISTAKES, ids=list(ISSUER_MISTAKES))
def test_l5_jwt_issuer_fails_on_each_mistake_and_names_it(checks, mistake):
    objects = solution()
    ISSUER_MISTAKES[mistake](objects)
    passed, hint, mismatches = outcome(checks.check_jwt_issuer, cluster=FakeCluster(objects))
    assert not passed and mismatches
    assert "request-authentication-ingress.yaml" in hint


POLICY_MISTAKES = {
    "none": lambda objects: objects.remove(policy(objects)),
    # A read rule with no method: every anonymous request, orders included, is allowed.
    "no-methods": lambda objects: policy(objects)["spec"]["rules"][0].pop("to"),
    "principals-instead": lambda objects: policy(objects)["spec"]["rules"][1]["from"][0].update(
        source={"principals": ["*"]}),
    "other-issuer": lambda objects: policy(objects)["spec"]["rules"][1]["from"][0]["source"].update(
        requestPrincipals=["https://workshop.local/*"]),
    "deny-everything": lambda objects: policy(objects)["spec"].update(action="DENY"),
    "wrong-namespace": lambda objects: policy(objects)["metadata"].update(namespace="workshop"),
}


@pytest.mark.parametrize("mistake", POLICY_MISTAKES, ids=list(POLICY_MISTAKES))
def test_l5_users_policy_fails_on_each_mistake(checks, mistake):
    objects = copy.deepcopy(solution())
    POLICY_MISTAKES[mistake](objects)
    passed, _, mismatches = outcome(checks.check_users_policy, cluster=FakeCluster(objects))
    assert not passed and mismatches, mistake
