"""Step "port-forward": the gateway answers over HTTP (needs a real data plane: kind, not the sim)."""

from workshop.grading import N_, check, verify


@check(id="l2-gateway-http", title=N_("the gateway answers through its Service"), step="port-forward", points=2,
       data_plane=True, timeout=5,
       hint=N_("Reach the gateway: kubectl -n workshop port-forward svc/gateway 8080:8080, then open "
       "http://127.0.0.1:8080/ (if it does not answer, kubectl -n workshop logs deployment/gateway says why)."),
       docs="https://kubernetes.io/docs/tasks/access-application-cluster/port-forward-access-application-cluster/")
def check_gateway_http(service_http):
    from workshop.grading.httpprobe import expect_http

    with verify() as v:
        for path in ("/healthz", "/readyz"):
            for mismatch in expect_http(service_http("gateway", path), status=200, where=f"GET gateway{path}"):
                v.fail(mismatch.path, mismatch.expected, mismatch.got)
