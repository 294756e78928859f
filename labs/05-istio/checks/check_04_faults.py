"""Step "fault injection": testers' calls to account are delayed or aborted; no one else's are."""

from check_03_routing import TESTER_HEADER, TESTER_VALUE, account_routes
from level5_mesh import header_match, is_default_route

from workshop.grading import N_, check, verify


@check(id="l5-faults", title=N_("a fault (delay or abort) is injected on the testers' route to account, and only there"),
       step="fault injection", points=2, timeout=0,
       hint=N_("Put `fault` on the testers' route (the one matching baggage: tester=true), not on the route everyone "
       "takes, or every user gets the fault: kubectl apply -f labs/05-istio/manifests/virtual-service-account-delay.yaml"),
       docs="https://istio.io/latest/docs/tasks/traffic-management/fault-injection/")
def check_faults(cluster, namespace):
    with verify() as v:
        vs, routes = account_routes(cluster, namespace, v)
        if vs is None:
            return
        ref = f"virtualservice/{vs['metadata']['name']}"
        testers = [index for index, route in enumerate(routes)
                   if header_match(route, TESTER_HEADER) == {"exact": TESTER_VALUE}]
        if not testers:
            v.fail(f"{ref}.spec.http[*].match[*].headers.{TESTER_HEADER}", {"exact": TESTER_VALUE}, "<no such route>", vs)
        for index in testers:
            fault = routes[index].get("fault") or {}
            if not (fault.get("delay") or fault.get("abort")):
                v.fail(f"{ref}.spec.http[{index}].fault", "<a delay or an abort>", fault or "nothing", vs)
        for index, route in enumerate(routes):
            if is_default_route(route) and route.get("fault"):
                v.fail(f"{ref}.spec.http[{index}].fault (the route everyone takes)", "<not set>", route["fault"], vs)
