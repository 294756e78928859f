"""Step "timeouts and retries": the mesh gives up on account before the app does, and retries safely."""

from check_03_routing import account_routes
from level5_mesh import is_default_route, routes_for, seconds

from workshop.grading import N_, check, verify

DOCS = "https://istio.io/latest/docs/concepts/traffic-management/#timeouts"
SETTINGS = "workshop-settings"


@check(id="l5-timeouts", title=N_("calls to account have a timeout shorter than the app's own, and bounded retries"),
       step="timeouts and retries", points=2, timeout=0,
       hint=N_("On account's route (the one everyone takes), set timeout below the app's OUTBOUND_TIMEOUT_SECONDS "
       "(2s), and retries with attempts and a perTryTimeout no longer than the timeout: see "
       "virtual-service-account-timeout-retries.yaml."),
       docs=DOCS)
def check_timeouts(cluster, namespace):
    config = cluster.get("ConfigMap", SETTINGS, namespace) or {}
    app_timeout = float((config.get("data") or {}).get("OUTBOUND_TIMEOUT_SECONDS", "2.0"))
    with verify() as v:
        vs, routes = account_routes(cluster, namespace, v)
        if vs is None:
            return
        ref = f"virtualservice/{vs['metadata']['name']}"
        defaults = [(index, route) for index, route in enumerate(routes) if is_default_route(route)]
        if not defaults:
            v.fail(f"{ref}.spec.http", "<a route without match>", "none", vs)
            return
        index, route = defaults[0]
        timeout = seconds(route.get("timeout"))
        if timeout is None or timeout >= app_timeout:
            v.fail(f"{ref}.spec.http[{index}].timeout", f"<less than {app_timeout:g}s (OUTBOUND_TIMEOUT_SECONDS)>",
                   route.get("timeout") or "<not set>", vs)
        retries = route.get("retries") or {}
        per_try = seconds(retries.get("perTryTimeout"))
        if not retries.get("attempts"):
            v.fail(f"{ref}.spec.http[{index}].retries.attempts", "<1 or more>", retries.get("attempts", "<not set>"), vs)
        if per_try is None or (timeout is not None and per_try > timeout):
            v.fail(f"{ref}.spec.http[{index}].retries.perTryTimeout",
                   f"<at most the route's timeout ({route.get('timeout') or 'not set'})>",
                   retries.get("perTryTimeout") or "<not set>", vs)


@check(id="l5-order-retries", title=N_("calls to order are retried (safe: each order carries an Idempotency-Key)"),
       step="timeouts and retries", points=1, timeout=0,
       hint=N_("Give order a VirtualService with retries (attempts, perTryTimeout, retryOn including 503): "
       "kubectl apply -f labs/05-istio/manifests/virtual-service-order-retries.yaml"),
       docs="https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry")
def check_order_retries(cluster, namespace):
    found = routes_for(cluster.list("VirtualService", namespace), "order", namespace)
    with verify() as v:
        if not found:
            v.fail("virtualservice for host order", "<one>", "nothing")
            return
        vs = found[0]
        routes = vs["spec"].get("http") or []
        if not any((route.get("retries") or {}).get("attempts") for route in routes):
            v.fail(f"virtualservice/{vs['metadata']['name']}.spec.http[*].retries.attempts", "<1 or more>",
                   "<not set>", vs)
