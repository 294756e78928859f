"""Step "circuit breaking": account's DestinationRule limits its connection pool and ejects outliers."""

from check_03_routing import account_rule
from level5_mesh import seconds

from workshop.grading import N_, PRESENT, check, verify

DOCS = "https://istio.io/latest/docs/tasks/traffic-management/circuit-breaking/"


@check(id="l5-circuit-breaker", title=N_("account's DestinationRule has a connection pool limit and outlier detection"),
       step="circuit breaking", points=2, timeout=0,
       hint=N_("Keep the subsets when you add trafficPolicy: apply destination-rule-account-circuit-breaker.yaml "
       "(connectionPool.http.http1MaxPendingRequests, outlierDetection.consecutive5xxErrors), which replaces "
       "destination-rule-account.yaml: kubectl apply -f labs/05-istio/manifests/destination-rule-account-circuit-breaker.yaml"),
       docs=DOCS)
def check_circuit_breaker(cluster, namespace):
    rule = account_rule(cluster, namespace)
    with verify() as v:
        v.match(rule, {"spec": {
            "trafficPolicy": {
                "connectionPool": {"http": {"http1MaxPendingRequests": PRESENT, "maxRequestsPerConnection": PRESENT}},
                "outlierDetection": {"consecutive5xxErrors": PRESENT, "baseEjectionTime": PRESENT},
            },
            "subsets": [{"name": "v1"}, {"name": "v2"}],
        }}, ref="destinationrule for host account")
        if rule is None:
            return
        # 0 means "off" or "unlimited" upstream: a pool of 0 pending requests is unlimited,
        # consecutive5xxErrors: 0 disables ejection.
        policy = rule["spec"].get("trafficPolicy") or {}
        ref = f"destinationrule/{rule['metadata']['name']}.spec.trafficPolicy"
        limits = {"connectionPool.http.http1MaxPendingRequests": ((policy.get("connectionPool") or {}).get("http") or {})
                  .get("http1MaxPendingRequests"),
                  "connectionPool.http.maxRequestsPerConnection": ((policy.get("connectionPool") or {}).get("http") or {})
                  .get("maxRequestsPerConnection"),
                  "connectionPool.tcp.maxConnections": ((policy.get("connectionPool") or {}).get("tcp") or {})
                  .get("maxConnections", 1),
                  "outlierDetection.consecutive5xxErrors": (policy.get("outlierDetection") or {}).get("consecutive5xxErrors"),
                  "outlierDetection.maxEjectionPercent": (policy.get("outlierDetection") or {}).get("maxEjectionPercent", 10)}
        for field, value in limits.items():
            if value is not None and (not isinstance(value, int) or value < 1):
                v.fail(f"{ref}.{field}", "<1 or more (0 turns it off)>", value, rule)
        ejection = seconds((policy.get("outlierDetection") or {}).get("baseEjectionTime"))
        if ejection is not None and ejection <= 0:
            v.fail(f"{ref}.outlierDetection.baseEjectionTime", "<longer than 0s>",
                   policy["outlierDetection"]["baseEjectionTime"], rule)
        if any(m.path.startswith(ref) for m in v.mismatches):
            v.hint(f"destinationrule/{rule['metadata']['name']} turns a limit off with 0: kubectl replace -f "
                   "labs/05-istio/manifests/destination-rule-account-circuit-breaker.yaml")


@check(id="l5-circuit-opened", title=N_("the burst overflowed account's pool: order's sidecar refused calls (flag UO)"),
       step="circuit breaking", points=1, timeout=0, data_plane=True,
       hint=N_("Send the burst of step 6 (POST /bursts to loadgen), then run this check within a few minutes; if no "
       "call overflowed, the pool is larger than the burst: lower http1MaxPendingRequests and maxRequestsPerConnection to 1."),
       docs=DOCS)
def check_circuit_opened(cluster, namespace):
    from level5_traffic import overflowed_calls

    from workshop.grading.httpprobe import ProbeError

    total, read = 0.0, 0
    for pod in cluster.list("Pod", namespace, selector={"app": "order"}):
        if pod["metadata"].get("deletionTimestamp"):
            continue  # a pod on its way out counts what an older configuration did
        # The sidecar's merged metrics (port 15020) are outside the mesh's interception.
        path = f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}:15020/proxy/stats/prometheus"
        status, body = cluster.send(path, accept="text/plain")
        if status != 200:
            continue
        read += 1
        total += overflowed_calls(body.decode("utf-8", "replace"))
    with verify() as v:
        if not read:
            raise ProbeError("no order pod's sidecar metrics could be read (port 15020)")
        if total == 0:
            v.fail("calls order's sidecar refused with flag UO (istio_requests_total, or Envoy's "
                   "upstream_rq_pending_overflow to account)", "<more than 0>", 0)
