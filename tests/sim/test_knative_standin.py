"""The Kourier STAND-IN (workshop/sim/knative_ingress.py) and the sim's Knative release files.

The stand-in's proxy is run here on 127.0.0.1 with real HTTP, its upstreams being a local server
that answers which "revision" it is and which headers it got: the routing a real Kourier would
do (host, path, header match, weights, appended headers, public versus cluster-local), nothing
more. Its part with the API server runs on the real-node sim (tests/sim/test_real_knative.py).
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from workshop.sim import knative, knative_ingress, knative_kourier, releases

HOST = "invoice.serverless.127.0.0.1.sslip.io"


def kingress(generation=1, percent_v1=80, visibility="ExternalIP", klass=knative_ingress.INGRESS_CLASS):
    """A KIngress as Knative's Route controller writes it for a split between two revisions."""
    def split(revision, percent):
        return {"serviceName": revision, "serviceNamespace": "serverless", "servicePort": 80, "percent": percent,
                "appendHeaders": {"Knative-Serving-Revision": revision, "Knative-Serving-Namespace": "serverless"}}

    return {"metadata": {"name": "invoice", "namespace": "serverless", "generation": generation,
                         "annotations": {knative_ingress.CLASS_ANNOTATION: klass}},
            "spec": {"rules": [
                {"hosts": [HOST], "visibility": visibility,
                 "http": {"paths": [{"splits": [split("invoice-v1", percent_v1), split("invoice-v2", 100 - percent_v1)]}]}},
                {"hosts": ["invoice.serverless.svc.cluster.local"], "visibility": "ClusterLocal",
                 "http": {"paths": [{"splits": [split("invoice-v1", 100)]}]}},
                {"hosts": ["candidate-" + HOST], "visibility": visibility,
                 "http": {"paths": [{"splits": [split("invoice-v2", 100)],
                                     "appendHeaders": {"Knative-Serving-Tag": "candidate"}}]}},
            ]}}


class Upstream(BaseHTTPRequestHandler):
    """Answers with the headers it got; the proxy's upstream for every Service."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        body = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def proxies(monkeypatch):
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    monkeypatch.setattr(knative_ingress, "upstream_address", lambda split: ("127.0.0.1", upstream.server_address[1]))
    servers = [upstream, knative_ingress.Server(("127.0.0.1", 0), knative_ingress.Proxy),
               knative_ingress.Server(("127.0.0.1", 0), knative_ingress.InternalProxy)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(knative_ingress, "ROUTES", knative_ingress.routes_of([kingress()]))
    yield {"public": servers[1].server_address[1], "internal": servers[2].server_address[1]}
    for server in servers:
        server.shutdown()
        server.server_close()


def call(port, host, path="/invoices/preview"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, json.loads(body)


def test_weights_split_real_requests_and_the_revision_headers_reach_the_upstream(proxies):
    revisions = [call(proxies["public"], f"{HOST}:8081")[1]["knative-serving-revision"] for _ in range(400)]
    v2 = revisions.count("invoice-v2")
    assert set(revisions) == {"invoice-v1", "invoice-v2"}
    assert 40 <= v2 <= 120, f"{v2} of 400 went to the 20% revision"  # binomial: 80 +- 5 sigma


def test_a_tag_route_goes_to_its_revision_only_with_its_headers(proxies):
    for _ in range(20):
        status, headers = call(proxies["public"], "candidate-" + HOST)
        assert status == 200
        assert headers["knative-serving-revision"] == "invoice-v2"
        assert headers["knative-serving-tag"] == "candidate"


def test_an_unknown_host_answers_404_in_json(proxies):
    status, body = call(proxies["public"], "nobody.serverless.127.0.0.1.sslip.io")
    assert status == 404 and "no route" in body["error"]


def test_cluster_local_hosts_are_served_on_the_internal_port_only(proxies):
    assert call(proxies["public"], "invoice.serverless.svc.cluster.local")[0] == 404
    assert call(proxies["internal"], "invoice.serverless.svc.cluster.local")[0] == 200
    assert call(proxies["internal"], HOST)[0] == 200  # the internal gateway serves public hosts too


def test_ingresses_of_another_class_are_left_alone():
    assert knative_ingress.ours(kingress())
    assert not knative_ingress.ours(kingress(klass="istio.ingress.networking.knative.dev"))


def test_ready_only_for_the_generation_it_routes():
    ingress = kingress(generation=3)
    assert not knative_ingress.is_ready(ingress)
    ingress["status"] = knative_ingress.ready_status(ingress)
    assert knative_ingress.is_ready(ingress)
    ingress["metadata"]["generation"] = 4  # a new spec: Ready again only once routed
    assert not knative_ingress.is_ready(ingress)
    assert ingress["status"]["publicLoadBalancer"]["ingress"][0]["domainInternal"].startswith("kourier.")


def test_a_split_with_no_traffic_is_never_picked():
    splits = [{"percent": 100, "serviceName": "a"}, {"percent": 0, "serviceName": "b"}]
    assert {knative_ingress.pick_split(splits, draw / 100)["serviceName"] for draw in range(100)} == {"a"}
    assert knative_ingress.pick_split([{"percent": 0}]) is None


def test_kourier_yaml_has_what_the_lab_and_the_page_use():
    documents = [document for document in yaml.safe_load_all(knative_kourier.manifest()) if document]
    names = {(document["kind"], document["metadata"].get("namespace"), document["metadata"]["name"])
             for document in documents}
    assert ("Service", "kourier-system", "kourier") in names  # the page port-forwards to it
    assert ("Service", "kourier-system", "kourier-internal") in names
    assert ("Deployment", "kourier-system", "3scale-kourier-gateway") in names
    assert knative_kourier.manifest().startswith("# STAND-IN")


def test_the_mirror_knows_the_three_urls_lab_sh_applies():
    version = knative.all_versions()["KNATIVE_VERSION"]
    base = "https://github.com/knative"
    for url in (f"{base}/serving/releases/download/knative-v{version}/serving-crds.yaml",
                f"{base}/serving/releases/download/knative-v{version}/serving-core.yaml",
                f"{base}/net-kourier/releases/download/knative-v{version}/kourier.yaml"):
        assert url in releases.known_urls()


def test_the_gateway_answers_a_probe_with_the_generations_it_routes(proxies, monkeypatch):
    monkeypatch.setattr(knative_ingress, "LOADED", {"serverless/invoice": 2})
    connection = http.client.HTTPConnection("127.0.0.1", proxies["internal"], timeout=10)
    connection.request("GET", "/", headers={"K-Network-Probe": "probe", "Host": "probe.kourier.internal"})
    assert json.loads(connection.getresponse().read()) == {"serverless/invoice": 2}
    connection.close()


def test_an_ingress_is_ready_only_once_every_gateway_routes_its_generation():
    ingress = kingress(generation=2)
    assert not knative_ingress.routed_everywhere(ingress, [])  # no gateway Ready: nothing is routed
    assert not knative_ingress.routed_everywhere(ingress, [{"serverless/invoice": 2}, {"serverless/invoice": 1}])
    assert knative_ingress.routed_everywhere(ingress, [{"serverless/invoice": 2}, {"serverless/invoice": 2}])
