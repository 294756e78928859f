"""Step "observability": the dashboards run, tracing is on, and one request is traced across four hops."""

from level5_mesh import ISTIO_API, ISTIO_NAMESPACE

from workshop.grading import N_, check, verify

ADDONS = ("prometheus", "grafana", "kiali", "jaeger")


@check(id="l5-dashboards", title=N_("Prometheus, Grafana, Kiali and Jaeger run in istio-system"), step="observability",
       points=1, timeout=5,
       hint=N_("Install the add-ons of your Istio download: kubectl apply -f istio-<version>/samples/addons/ (make lab-5 "
       "does it), then kubectl -n istio-system get deployments."),
       docs="https://istio.io/latest/docs/ops/integrations/")
def check_dashboards(cluster):
    with verify() as v:
        for name in ADDONS:
            v.match(cluster.get("Deployment", name, ISTIO_NAMESPACE),
                    {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
                    ref=f"deployment/{name} (namespace {ISTIO_NAMESPACE})")


@check(id="l5-tracing", title=N_("a mesh-wide Telemetry sends spans to Jaeger"), step="observability", points=1,
       timeout=0,
       hint=N_("Tracing for the whole mesh is a Telemetry in istio-system (the root namespace) naming the provider jaeger: "
       "kubectl apply -f labs/05-istio/manifests/telemetry-mesh-tracing.yaml"),
       docs="https://istio.io/latest/docs/tasks/observability/distributed-tracing/jaeger/")
def check_tracing(cluster):
    found = cluster.list("Telemetry", ISTIO_NAMESPACE, ISTIO_API["Telemetry"])
    with verify() as v:
        mesh_wide = [item for item in found if not (item.get("spec") or {}).get("selector")]
        if not mesh_wide:
            v.fail(f"telemetry in namespace {ISTIO_NAMESPACE}", "<one without selector>", "none")
        for item in mesh_wide:
            v.match(item, {"spec": {"tracing": [{"providers": [{"name": "jaeger"}]}]}})
            for index, tracing in enumerate((item.get("spec") or {}).get("tracing") or []):
                ref = f"telemetry/{item['metadata']['name']}.spec.tracing[{index}]"
                sampling = tracing.get("randomSamplingPercentage")
                if sampling is not None and not 0 < float(sampling) <= 100:
                    v.fail(f"{ref}.randomSamplingPercentage", "<more than 0 (0 records no trace)>", sampling, item)
                    v.hint(f"{ref}.randomSamplingPercentage is {sampling}: no request is traced. kubectl replace -f "
                           "labs/05-istio/manifests/telemetry-mesh-tracing.yaml")
                if tracing.get("disableSpanReporting"):
                    v.fail(f"{ref}.disableSpanReporting", "<not set>", True, item)
                    v.hint(f"{ref}.disableSpanReporting sends no span: kubectl replace -f "
                           "labs/05-istio/manifests/telemetry-mesh-tracing.yaml")


@check(id="l5-trace-four-hops", title=N_("Jaeger holds a trace that crosses gateway, customer, order and account"),
       step="observability", points=1, timeout=10, data_plane=True,
       hint=N_("No trace joins the four services when a service does not pass the tracing headers on, or when loadgen "
       "has not sent traffic since tracing was turned on: wait a minute with loadgen running, then check again."),
       docs="https://istio.io/latest/docs/tasks/observability/distributed-tracing/overview/")
def check_trace_four_hops(cluster, namespace):
    from level5_traffic import APP_SERVICES, services_in_traces

    from workshop.grading.httpprobe import ServiceProxy, expect_http

    jaeger = ServiceProxy(cluster, ISTIO_NAMESPACE, "tracing", "http-query")
    answer = jaeger.get(f"/jaeger/api/traces?service=gateway.{namespace}&limit=50&lookback=1h")
    with verify() as v:
        for mismatch in expect_http(answer, status=200, where="GET jaeger /api/traces"):
            # Jaeger's own words say why (a query error, a backend that is not Jaeger).
            said = (answer.body or b"")[:300].decode("utf-8", "replace").strip()
            v.fail(mismatch.path, mismatch.expected, f"{mismatch.got}: {said}" if said else mismatch.got)
            return
        seen = services_in_traces(answer.body, namespace)
        if seen != set(APP_SERVICES):
            v.fail("services in the best trace", list(APP_SERVICES), sorted(seen))
