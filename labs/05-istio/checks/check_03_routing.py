"""Step "traffic shifting": account's subsets, weights, the testers' route, and the split users get."""

from level5_mesh import IngressGateway, header_match, is_default_route, routes_for, short_host, weights

from workshop.grading import N_, check, verify
from workshop.grading.kube import selector_matches

DOCS = "https://istio.io/latest/docs/tasks/traffic-management/traffic-shifting/"
TESTER_HEADER, TESTER_VALUE = "baggage", "tester=true"


def account_rule(cluster, namespace):
    """The DestinationRule for host account (None when there is none)."""
    for rule in cluster.list("DestinationRule", namespace):
        if short_host((rule.get("spec") or {}).get("host", ""), namespace) == "account":
            return rule
    return None


def account_routes(cluster, namespace, v):
    """The http routes of account's VirtualService; records a mismatch when there is not exactly one."""
    found = routes_for(cluster.list("VirtualService", namespace), "account", namespace)
    if len(found) != 1:
        v.fail("virtualservice for host account", "<exactly one>",
               ", ".join(item["metadata"]["name"] for item in found) or "none")
        return None, []
    return found[0], found[0]["spec"].get("http") or []


@check(id="l5-subsets", title=N_("account's subsets v1 and v2 each select running pods"), step="traffic shifting",
       points=1, timeout=5,
       hint=N_("A subset selects pods by label: version: v1 and version: v2 must be labels of account's pods "
       "(check with kubectl -n workshop get pods -l app=account --show-labels), and account-v2 must run: "
       "kubectl apply -f labs/05-istio/manifests/app-account-v2.yaml -f labs/05-istio/manifests/destination-rule-account.yaml"),
       docs="https://istio.io/latest/docs/reference/config/networking/destination-rule/#Subset")
def check_subsets(cluster, namespace):
    rule = account_rule(cluster, namespace)
    pods = [pod for pod in cluster.list("Pod", namespace, selector={"app": "account"})
            if not pod["metadata"].get("deletionTimestamp")]
    with verify() as v:
        if rule is None:
            v.fail("destinationrule for host account", "<one>", "nothing")
            return
        subsets = {item.get("name"): item.get("labels") or {} for item in rule["spec"].get("subsets") or []}
        for name in ("v1", "v2"):
            if name not in subsets:
                v.fail(f"destinationrule/{rule['metadata']['name']}.spec.subsets[name={name}]", "<defined>", "nothing", rule)
            elif not any(selector_matches(subsets[name], pod["metadata"].get("labels")) for pod in pods):
                v.fail(f"destinationrule/{rule['metadata']['name']}.spec.subsets[name={name}].labels",
                       "<labels some account pod carries>", subsets[name], rule)


@check(id="l5-weights", title=N_("every route to account names a defined subset, with weights that sum to 100"),
       step="traffic shifting", points=2, timeout=0,
       hint=N_("Istio sends each destination its weight's share of the route's total; this workshop writes the "
       "weights of one route as percentages that sum to exactly 100 (90 + 10, 50 + 50, 0 + 100), "
       "and each subset must be defined in destination-rule-account.yaml (a route to an undefined subset fails "
       "every request with 503)."),
       docs=DOCS)
def check_weights(cluster, namespace):
    rule = account_rule(cluster, namespace)
    defined = {item.get("name") for item in ((rule or {}).get("spec") or {}).get("subsets") or []}
    with verify() as v:
        vs, routes = account_routes(cluster, namespace, v)
        if vs is None:
            return
        ref = f"virtualservice/{vs['metadata']['name']}"
        if not routes:
            v.fail(f"{ref}.spec.http", "<at least one route>", "none", vs)
        for index, route in enumerate(routes):
            split = weights(route)
            if sum(split.values()) != 100:
                v.fail(f"{ref}.spec.http[{index}] weights", "<a sum of 100>",
                       " + ".join(f"{k}: {w}" for k, w in split.items()) + f" = {sum(split.values())}", vs)
            for item in route.get("route") or []:
                destination = item.get("destination") or {}
                subset = destination.get("subset")
                if short_host(destination.get("host", ""), namespace) != "account":
                    v.fail(f"{ref}.spec.http[{index}].route[*].destination.host", "account", destination.get("host"), vs)
                elif subset is None or subset not in defined:
                    v.fail(f"{ref}.spec.http[{index}].route[*].destination.subset",
                           f"<one of the DestinationRule's subsets: {', '.join(sorted(defined)) or 'none defined'}>",
                           subset, vs)


@check(id="l5-testers", title=N_("requests marked `baggage: tester=true` go to account v2, before any other route"),
       step="traffic shifting", points=1, timeout=0,
       hint=N_("Routes are tried in order: the testers' route (match on header baggage, exact tester=true, to subset "
       "v2) must come first, before the route without a match: see virtual-service-account-testers.yaml."),
       docs="https://istio.io/latest/docs/tasks/traffic-management/request-routing/")
def check_testers(cluster, namespace):
    with verify() as v:
        vs, routes = account_routes(cluster, namespace, v)
        if vs is None:
            return
        ref = f"virtualservice/{vs['metadata']['name']}"
        for index, route in enumerate(routes):
            if is_default_route(route):
                v.fail(f"{ref}.spec.http", f"<a route matching {TESTER_HEADER}: {TESTER_VALUE} before http[{index}], "
                       "which takes every request>", "<none before it>", vs)
                return
            if header_match(route, TESTER_HEADER) == {"exact": TESTER_VALUE}:
                if weights(route) != {"v2": 100}:
                    v.fail(f"{ref}.spec.http[{index}].route", "all to subset v2", weights(route), vs)
                return
        v.fail(f"{ref}.spec.http[*].match[*].headers.{TESTER_HEADER}", {"exact": TESTER_VALUE}, "<no such route>", vs)


@check(id="l5-shifted", title=N_("the shift is complete: everyone else's calls go 100% to account v2"),
       step="traffic shifting", points=1, timeout=0,
       hint=N_("Go through 90/10 and 50/50 to 0/100: kubectl apply -f labs/05-istio/manifests/virtual-service-account-0-100.yaml "
       "(watch Kiali between the steps: the share of v2 grows)."),
       docs=DOCS)
def check_shifted(cluster, namespace):
    with verify() as v:
        vs, routes = account_routes(cluster, namespace, v)
        if vs is None:
            return
        defaults = [(index, route) for index, route in enumerate(routes) if is_default_route(route)]
        if not defaults:
            v.fail(f"virtualservice/{vs['metadata']['name']}.spec.http", "<a last route without match>", "none", vs)
            return
        index, route = defaults[0]
        split = {k: w for k, w in weights(route).items() if w}
        if split != {"v2": 100}:
            v.fail(f"virtualservice/{vs['metadata']['name']}.spec.http[{index}] weights", {"v2": 100}, split, vs)


@check(id="l5-split-observed", title=N_("through the ingress, account's versions answer in the shares the weights say"),
       step="traffic shifting", points=1, timeout=0, data_plane=True,
       hint=N_("If every answer comes from one version whatever the weights, the calls bypass the sidecars (no "
       "istio-proxy in order's pod: restart it) or the VirtualService's host does not match the name order calls "
       "(account). kubectl -n workshop logs deploy/order -c istio-proxy shows each call and its route."),
       docs=DOCS)
def check_split_observed(cluster, namespace):
    from level5_traffic import observed_split, split_mismatches

    ingress = IngressGateway(cluster)
    with verify() as v:
        vs, routes = account_routes(cluster, namespace, v)
        defaults = [route for route in routes if is_default_route(route)]
        if not defaults:
            v.fail("account's default route", "<present>", "none")
            return
        counts = observed_split(ingress.get, "/api/customers/1/summary", requests=60)
        for mismatch in split_mismatches(counts, weights(defaults[0])):
            v.fail(mismatch.path, mismatch.expected, mismatch.got)
