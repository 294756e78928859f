"""Would a NetworkPolicy let this traffic through? A small model of the rules, for the checks.

The checks ask questions such as "may gateway call account?" of the policies the learner
applied, rather than comparing them with ours: any set of policies that allows exactly the
call chain passes.

    >>> deny = {"metadata": {"name": "default-deny"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    >>> verdict([deny], Pod("workshop", {"app": "gateway"}), Pod("workshop", {"app": "account"}), 8080, "TCP", {})
    Verdict(allowed=False, why='ingress to account: isolated by networkpolicy/default-deny, no rule allows it')

The model follows the API's semantics (networking.k8s.io/v1): a pod is isolated for a
direction once any policy selecting it lists that direction in policyTypes; traffic then
needs one rule of one such policy whose peer and port both match; egress and ingress must
both allow it. Simplifications, on the strict side: an ipBlock matches every pod.
"""

from __future__ import annotations

from dataclasses import dataclass

from workshop.grading.kube import selector_matches


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict
    ports: tuple = (("http", 8080),)  # (name, number) of its container ports
    external: bool = False  # an address outside the cluster (the internet): only ipBlock peers match it

    @property
    def name(self) -> str:
        return "the internet" if self.external else self.labels.get("app") or self.labels.get("k8s-app") or "pod"


INTERNET = Pod("", {}, ports=(("https", 443),), external=True)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str


def _selects(selector: dict | None, labels: dict) -> bool:
    """A policy's podSelector: the empty selector ({}) selects every pod."""
    if not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions")):
        return True
    return selector_matches(selector, labels)


def policy_types(policy: dict) -> list[str]:
    """policyTypes, defaulted as the API server does: Ingress, plus Egress when egress rules exist."""
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return spec["policyTypes"]
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _peer_matches(peer: dict, policy_namespace: str, other: Pod, namespace_labels: dict) -> bool:
    if "ipBlock" in peer:
        return True  # strict: an address range may well contain pod addresses
    if other.external:
        return False  # pod and namespace selectors only ever match pods
    pod_selector, namespace_selector = peer.get("podSelector"), peer.get("namespaceSelector")
    if namespace_selector is None:
        in_namespace = other.namespace == policy_namespace
    else:
        in_namespace = _selects(namespace_selector, namespace_labels.get(other.namespace, {}))
    return in_namespace and (pod_selector is None or _selects(pod_selector, other.labels))


def _port_matches(rule_ports: list | None, target: Pod, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True  # no ports listed: every port
    names = {name: number for name, number in target.ports}
    for item in rule_ports:
        if item.get("protocol", "TCP") != protocol:
            continue
        wanted = item.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if names.get(wanted) == port:
                return True
        elif wanted == port or (item.get("endPort") and wanted <= port <= item["endPort"]):
            return True
    return False


def _direction(policies: list[dict], subject: Pod, other: Pod, port_owner: Pod, port: int, protocol: str,
               kind: str, namespace_labels: dict) -> tuple[bool, str]:
    """(allowed, reason) for one direction: kind is "Ingress" (subject receives) or "Egress" (subject sends)."""
    field, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    if subject.external:
        return True, f"{field} of {subject.name}: no policy of the cluster applies"
    isolating = [p for p in policies if p["metadata"].get("namespace", subject.namespace) == subject.namespace
                 and _selects((p.get("spec") or {}).get("podSelector"), subject.labels) and kind in policy_types(p)]
    if not isolating:
        return True, f"{field} of {subject.name}: no policy isolates it"
    for policy in isolating:
        for rule in (policy.get("spec") or {}).get(field) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(peer, subject.namespace, other, namespace_labels)
                                       for peer in peers)
            if peer_ok and _port_matches(rule.get("ports"), port_owner, port, protocol):
                return True, f"{field} of {subject.name}: allowed by networkpolicy/{policy['metadata']['name']}"
    names = ", ".join(f"networkpolicy/{p['metadata']['name']}" for p in isolating)
    return False, f"{field} {'to' if kind == 'Ingress' else 'from'} {subject.name}: isolated by {names}, no rule allows it"


def ingress(policies: list[dict], source: Pod, target: Pod, port: int, protocol: str,
            namespace_labels: dict) -> Verdict:
    """Do the policies of ``target`` let ``source`` in (whatever the source's own policies say)?"""
    return Verdict(*_direction(policies, target, source, target, port, protocol, "Ingress", namespace_labels))


def egress(policies: list[dict], source: Pod, target: Pod, port: int, protocol: str,
           namespace_labels: dict) -> Verdict:
    """Do the policies of ``source`` let it out to ``target``?"""
    return Verdict(*_direction(policies, source, target, target, port, protocol, "Egress", namespace_labels))


def verdict(policies: list[dict], source: Pod, target: Pod, port: int, protocol: str,
            namespace_labels: dict) -> Verdict:
    """May ``source`` open a connection to ``target`` on ``port``? Both directions must allow it."""
    out = egress(policies, source, target, port, protocol, namespace_labels)
    if not out.allowed:
        return out
    into = ingress(policies, source, target, port, protocol, namespace_labels)
    return into if not into.allowed else Verdict(True, f"{out.why}; {into.why}")
