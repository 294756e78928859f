"""Read-only, cached access to the cluster being graded.

A :class:`Cluster` only ever sends GET requests (it has no method that writes), lists
each kind once per namespace per run and answers every later question from that list,
and gives every request a deadline (``_request_timeout``) so nothing can hang.

    >>> cluster = Cluster.connect(context="kind-workshop")
    >>> cluster.get("Deployment", "account", namespace="workshop")["spec"]["replicas"]
    2
    >>> cluster.requests   # one /version, one LIST of deployments
    2

Errors are sorted into two kinds: :class:`Transient` (timeouts, 429, 5xx: worth
another try) and :class:`CannotCheck` (no cluster, 401/403, a missing CRD: trying
again will not help, and the message is one sentence saying what to run).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote, urlencode

# Every request gets (connect, read) deadlines: a check can wait, a request cannot hang.
REQUEST_TIMEOUT = (2.0, 5.0)

# Kinds whose objects live outside namespaces (the rest are namespaced).
CLUSTER_SCOPED = {
    "Namespace", "Node", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "PersistentVolume", "StorageClass", "PriorityClass", "APIService", "IngressClass",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}
IRREGULAR_PLURALS = {"Endpoints": "endpoints", "Ingress": "ingresses", "Gateway": "gateways"}
# Default apiVersion of the kinds checks name most often, so `get("Deployment", ...)` works.
DEFAULT_API_VERSIONS = {
    "Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1", "Ingress": "networking.k8s.io/v1",
    "EndpointSlice": "discovery.k8s.io/v1", "Event": "v1",
    "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1", "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "CustomResourceDefinition": "apiextensions.k8s.io/v1",
    "VirtualService": "networking.istio.io/v1", "DestinationRule": "networking.istio.io/v1",
    "PeerAuthentication": "security.istio.io/v1", "AuthorizationPolicy": "security.istio.io/v1",
    "RequestAuthentication": "security.istio.io/v1",
    "Application": "argoproj.io/v1alpha1",
}
# A kind whose API group is missing means a component is not installed: say which lab installs it.
MISSING_GROUP_HINTS = {
    "networking.istio.io": "Istio is not installed in this cluster: run make lab-5.",
    "security.istio.io": "Istio is not installed in this cluster: run make lab-5.",
    "telemetry.istio.io": "Istio is not installed in this cluster: run make lab-5.",
    "serving.knative.dev": "Knative Serving is not installed in this cluster: run make lab-6.",
    "argoproj.io": "Argo CD is not installed in this cluster: run make lab-4.",
    "metrics.k8s.io": "metrics-server is not installed in this cluster: run make lab-3.",
}


class CannotCheck(Exception):
    """Grading cannot happen (no cluster, no permission, no CRD); the message says what to run."""


class Transient(Exception):
    """A request failed in a way that another try may fix (timeout, 429, 5xx)."""


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def plural(self) -> str:
        if self.kind in IRREGULAR_PLURALS:
            return IRREGULAR_PLURALS[self.kind]
        lower = self.kind.lower()
        if lower.endswith("y"):
            return lower[:-1] + "ies"
        if lower.endswith(("s", "x", "ch", "sh")):
            return lower + "es"
        return lower + "s"

    @property
    def namespaced(self) -> bool:
        return self.kind not in CLUSTER_SCOPED

    def collection_path(self, namespace: str | None) -> str:
        base = f"/api/{self.api_version}" if not self.group else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{quote(namespace)}/{self.plural}"
        return f"{base}/{self.plural}"


def kind_of(kind: str, api_version: str | None = None) -> Kind:
    return Kind(api_version or DEFAULT_API_VERSIONS.get(kind, "v1"), kind)


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """Does a label selector (``matchLabels``/``matchExpressions``, or a plain map) select ``labels``?"""
    if not selector:
        return False  # an empty Service selector selects nothing we manage
    labels = labels or {}
    match_labels = selector.get("matchLabels", {}) if "matchLabels" in selector or "matchExpressions" in selector else selector
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for expression in selector.get("matchExpressions", []) if "matchExpressions" in selector else []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


class Cluster:
    """The cluster under grading, read through the official ``kubernetes`` client.

    Reads are cached for the run: :meth:`list` sends one LIST per (kind, namespace);
    :meth:`refresh` forgets what the last attempt of a check read, so that a check that
    waits for convergence re-reads only what it looks at.
    """

    def __init__(self, api_client, context: str = "", server: str = "", request_timeout=REQUEST_TIMEOUT):
        self.api = api_client
        self.context = context
        self.server = server
        self.request_timeout = request_timeout
        self.requests = 0
        self.requests_by_path: Counter[str] = Counter()
        self._lists: dict[tuple[Kind, str | None], list[dict]] = {}
        self._touched: set[tuple[Kind, str | None]] = set()
        self._simulated: bool | None = None

    # --- connecting -------------------------------------------------------------------
    @classmethod
    def connect(cls, context: str | None = None, kubeconfig: str | None = None) -> "Cluster":
        """Load a kubeconfig (``KUBECONFIG`` or ~/.kube/config unless given) without touching the network."""
        import yaml
        from kubernetes import client, config  # imported here: `workshop doctor --help` stays fast

        configuration = client.Configuration()
        try:
            config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration,
                                    persist_config=False)
        except OSError as error:
            raise CannotCheck(f"Cannot read the kubeconfig {error.filename or kubeconfig}: "
                              "check the path, or run make cluster.") from None
        except (config.ConfigException, yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as error:
            # A kubeconfig is user input: any way it is malformed gets the same one sentence.
            raise CannotCheck(f"Cannot read your kubeconfig ({_first_line(error)}): run make cluster, "
                              "or pass --kubeconfig PATH / --context NAME.") from None
        configuration.retries = False  # we decide what to retry (see Transient)
        api_client = client.ApiClient(configuration)
        api_client.user_agent = "workshop-checker"
        current = context or _current_context_name(kubeconfig)
        return cls(api_client, context=current or "", server=configuration.host)

    def close(self) -> None:
        self.api.close()

    # --- raw requests (GET only) -------------------------------------------------------
    def send(self, path: str, query: dict | None = None, accept: str = "application/json",
             headers: dict | None = None) -> tuple[int, bytes]:
        """GET ``path`` with a deadline; return (status, body), or raise Transient when no answer came.

        ``headers`` go along with the request (a service proxy passes them to the service); they
        cannot replace the client's own Authorization, which the API server itself reads."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        url = self.api.configuration.host + path + (f"?{urlencode(query)}" if query else "")
        headers = {**(headers or {}), "Accept": accept, "User-Agent": self.api.user_agent}
        self.api.update_params_for_auth(headers, None, ["BearerToken"], path, "GET", None)
        self.requests += 1
        self.requests_by_path[path] += 1
        try:
            response = self.api.rest_client.request("GET", url, headers=headers,
                                                    _request_timeout=self.request_timeout)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise Transient(f"no answer from the API server at {self.server} ({type(error).__name__})") from None
        except ApiException as error:  # the client raises this for TLS failures: a new try will not help
            raise CannotCheck(f"Cannot talk to the API server at {self.server} ({_first_line(error)}): "
                              "check your kubeconfig, or recreate the cluster with make cluster.") from None
        return response.status, response.read()

    def request(self, path: str, query: dict | None = None, accept_json: bool = True) -> bytes:
        """GET ``path``; the body on success, else raise Transient or CannotCheck."""
        status, body = self.send(path, query, "application/json" if accept_json else "*/*")
        if 200 <= status < 300:
            return body
        raise http_error(status, path, body)

    def get_json(self, path: str, query: dict | None = None) -> dict:
        return json.loads(self.request(path, query))

    def preflight(self) -> str:
        """Reach the API server once (GET /version); return its version or raise CannotCheck."""
        try:
            version = self.get_json("/version")
        except Transient:
            raise CannotCheck(f"Cannot reach the Kubernetes API server at {self.server} (context "
                              f"{self.context or '?'}): start your cluster with make cluster "
                              "(or make sim-up), or pick another with --context.") from None
        return version.get("gitVersion", "?")

    # --- cached reads ------------------------------------------------------------------
    def list(self, kind: str, namespace: str | None = None, api_version: str | None = None,
             selector: dict | None = None) -> list[dict]:
        """Every object of a kind (in ``namespace``), from one LIST per run; optionally filtered by labels."""
        resolved = kind_of(kind, api_version)
        key = (resolved, namespace if resolved.namespaced else None)
        self._touched.add(key)
        if key not in self._lists:
            body = self.get_json(resolved.collection_path(key[1]))
            items = body.get("items") or []
            for item in items:  # a LIST leaves kind/apiVersion off its items: put them back
                item.setdefault("kind", resolved.kind)
                item.setdefault("apiVersion", resolved.api_version)
            self._lists[key] = items
        items = self._lists[key]
        if selector is not None:
            items = [item for item in items if selector_matches(selector, item["metadata"].get("labels"))]
        return items

    def get(self, kind: str, name: str, namespace: str | None = None, api_version: str | None = None) -> dict | None:
        """One object by name (from the cached list), or None when it does not exist."""
        for item in self.list(kind, namespace, api_version):
            if item["metadata"]["name"] == name:
                return item
        return None

    def pods_of(self, workload: dict) -> list[dict]:
        """The pods a Deployment (or Service) selects, by its selector."""
        namespace = workload["metadata"].get("namespace")
        selector = workload.get("spec", {}).get("selector")
        return self.list("Pod", namespace, selector=selector or {}) if selector else []

    def events_for(self, obj: dict, limit: int = 5) -> list[dict]:
        """The most recent events about ``obj`` (one LIST of events per namespace per run)."""
        namespace = obj["metadata"].get("namespace")
        name, kind = obj["metadata"]["name"], obj.get("kind")
        events = [
            event for event in self.list("Event", namespace)
            if event.get("involvedObject", {}).get("name") == name and event.get("involvedObject", {}).get("kind") == kind
        ]
        events.sort(key=lambda event: event.get("lastTimestamp") or event.get("eventTime") or "")
        return events[-limit:]

    def log_tail(self, pod: dict, container: str, lines: int = 10) -> str | None:
        """The last lines of a container's log, or None when the cluster cannot give it."""
        metadata = pod["metadata"]
        path = f"/api/v1/namespaces/{quote(metadata['namespace'])}/pods/{quote(metadata['name'])}/log"
        try:
            return self.request(path, {"container": container, "tailLines": lines}, accept_json=False).decode(
                "utf-8", "replace")
        except (Transient, CannotCheck):
            return None

    # --- convergence support -----------------------------------------------------------
    def begin_attempt(self) -> None:
        self._touched = set()

    def refresh(self) -> None:
        """Forget what the last attempt read, so that the next attempt sees fresh objects."""
        for key in self._touched:
            self._lists.pop(key, None)

    def is_simulated(self) -> bool:
        """True on a cluster with fake nodes (KWOK): no kubelet, no pod network, no data plane."""
        if self._simulated is None:
            try:
                nodes = self.list("Node")
                self._simulated = bool(nodes) and all(_is_fake_node(node) for node in nodes)
            except CannotCheck:  # an identity that may not list nodes: go by the context's name
                self._simulated = self.context.startswith("workshop-sim")
        return self._simulated


def _is_fake_node(node: dict) -> bool:
    metadata = node.get("metadata", {})
    annotations, labels = metadata.get("annotations") or {}, metadata.get("labels") or {}
    return "kwok.x-k8s.io/node" in annotations or labels.get("type") == "kwok"


def http_error(status: int, path: str, body: bytes) -> Exception:
    """Turn an HTTP error status into Transient (try again) or CannotCheck (say what to run)."""
    try:
        message = json.loads(body).get("message", "")
    except (ValueError, AttributeError):
        message = body[:200].decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    if status == 429 or status >= 500:
        return Transient(f"the API server answered {status} for {path}: {message}")
    if status == 401:
        return CannotCheck("The API server did not accept your credentials (401 Unauthorized): "
                           "run make cluster, or use a context whose token is current (--context).")
    if status == 403:
        return CannotCheck(f"Your identity may not read {path} (403 Forbidden: {message}): grade with an admin "
                           "context, or grant view-only access with kubectl apply -f workshop/grading/rbac.yaml.")
    if status == 404 and "/apis/" in path:
        group = path.split("/")[2]
        hint = MISSING_GROUP_HINTS.get(group, f"The API group {group} is not served by this cluster: "
                                              "install the component this level needs (see its page).")
        return CannotCheck(hint)
    return CannotCheck(f"The API server answered {status} for {path}: {message}")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _current_context_name(kubeconfig: str | None) -> str | None:
    from kubernetes import config

    try:
        _, active = config.list_kube_config_contexts(config_file=kubeconfig)
        return active["name"]
    except Exception:  # only a label for the header; the real load already succeeded
        return None
