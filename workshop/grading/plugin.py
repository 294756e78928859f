"""The pytest plugin that turns a lab's ``checks/`` folder into a self-grading run.

pytest does the collecting and the fixtures; this plugin adds what a learner needs:

- fixtures: ``cluster`` (read-only, cached :class:`~workshop.grading.kube.Cluster`),
  ``namespace`` ("workshop"), ``service_http`` (probe a Service over HTTP),
  ``testinfra_host`` (in-container and host checks through testinfra's podman, docker
  or kubectl backends);
- convergence: a failing check re-reads the cluster until it passes or its timeout ends
  (``--wait S`` raises the floor); transient API errors are retried, terminal ones
  (403, a missing CRD) end the check at once; ``hold=S`` checks must keep passing;
- declarative checks: ``check_*.yaml`` files of partial objects (see :class:`YamlCheck`);
- results: one :class:`~workshop.grading.results.CheckResult` per check, with the hint,
  every mismatch, and diagnostics (events, containers, conditions, logs) on failure.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from workshop.grading import diagnostics
from workshop.grading.kube import CannotCheck, Cluster, Transient
from workshop.grading.matcher import MISSING, PRESENT, Mismatch, Ordered, match, render, strip_server_fields
from workshop.grading.results import ERROR, FAILED, PASSED, SKIPPED, CheckResult
from workshop.grading.spec import DEFAULT_TIMEOUT, CheckFailed, CheckSpec, object_ref
from workshop.i18n import N_

POLL_SECONDS = 0.25  # first pause between re-reads; doubles up to MAX_POLL_SECONDS
MAX_POLL_SECONDS = 1.0
NEEDS_REAL_CLUSTER = N_("needs a real cluster: the sim cluster has no kubelet or pod network (run it on kind)")


PLUGIN_KEY = pytest.StashKey["GradingPlugin"]()


class GradingPlugin:
    def __init__(self, cluster: Cluster, namespace: str = "workshop", wait: float = 0.0,
                 kubeconfig: str | None = None, context: str | None = None):
        self.kube = cluster
        self.default_namespace = namespace
        self.kubeconfig, self.context = kubeconfig, context
        self.run_deadline = time.monotonic() + wait
        self.waiting = wait > 0  # the learner asked to wait (--wait) for what controllers still have to do
        self.results: list[CheckResult] = []
        self.load_errors: list[str] = []
        self.not_selected = 0

    # --- pytest wiring -----------------------------------------------------------------
    def pytest_configure(self, config):
        config.stash[PLUGIN_KEY] = self
        config.addinivalue_line("markers", "workshop_check(spec): a self-grading check (see workshop.grading.check)")

    def pytest_collect_file(self, file_path: Path, parent):
        if file_path.suffix in (".yaml", ".yml") and file_path.name.startswith("check_"):
            return YamlCheckFile.from_parent(parent, path=file_path)
        return None

    def pytest_collectreport(self, report):
        if report.failed:
            self.load_errors.append(f"cannot load {report.nodeid or 'the checks'}: "
                                    f"{str(report.longrepr).strip().splitlines()[-1]}")

    def pytest_collection_modifyitems(self, items):
        for item in items:  # so that `workshop check 2 -k l2-probes` selects by check id
            item.extra_keyword_matches.add(spec_of(item).id)

    def pytest_deselected(self, items):
        self.not_selected += len(items)

    @pytest.fixture(scope="session")
    def cluster(self) -> Cluster:
        return self.kube

    @pytest.fixture(scope="session")
    def namespace(self) -> str:
        return self.default_namespace

    @pytest.fixture(scope="session")
    def service_http(self):
        """``service_http("gateway", "/healthz")`` -> Answer, via the service proxy then port-forward."""
        from workshop.grading.httpprobe import PortForward, ServiceProxy, probe

        def get(service: str, path: str, port: str = "http", port_number: int = 8080, namespace: str | None = None):
            namespace = namespace or self.default_namespace
            return probe(path, [ServiceProxy(self.kube, namespace, service, port),
                                PortForward(namespace, service, port_number, self.context, self.kubeconfig)])

        return get

    @pytest.fixture(scope="session")
    def testinfra_host(self):
        """``testinfra_host("podman://gateway")``: a testinfra Host for in-container or host checks."""
        import testinfra  # only the levels that look inside containers pay for the import

        hosts = {}

        def get(spec: str = "local://"):
            if spec not in hosts:
                kwargs = {"kubeconfig": self.kubeconfig} if spec.startswith("kubectl://") and self.kubeconfig else {}
                hosts[spec] = testinfra.get_host(spec, **kwargs)
            return hosts[spec]

        return get

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        spec = spec_of(pyfuncitem)
        arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        self.execute(pyfuncitem, spec, lambda: pyfuncitem.obj(**arguments))
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if call.when == "call" or (call.when == "setup" and not report.passed):
            self.results.append(self.result_of(item, call))
        return report

    # --- running one check ---------------------------------------------------------------
    def execute(self, item, spec: CheckSpec, attempt) -> None:
        """Run ``attempt`` until it passes, its time is up, or it meets an error no retry fixes."""
        item.workshop_attempts = 0
        if spec.data_plane and self.kube.is_simulated():
            pytest.skip(NEEDS_REAL_CLUSTER)
        started = time.monotonic()
        deadline = max(started + spec.timeout, self.run_deadline)
        passing_since = None
        pause = POLL_SECONDS
        while True:
            item.workshop_attempts += 1
            self.kube.begin_attempt()
            try:
                attempt()
            except (AssertionError, Transient) as error:
                if spec.hold and passing_since is not None:
                    self._diagnose(item, error)
                    raise  # a negative check that broke while held: no second chance
                # What the learner wrote (spec, data, labels) does not change by waiting, --wait or not.
                if time.monotonic() + pause > deadline or (only_static(error) and not spec.reconciled):
                    self._diagnose(item, error)
                    raise
            else:
                now = time.monotonic()
                passing_since = passing_since if passing_since is not None else now
                if now - passing_since >= spec.hold:
                    return
            time.sleep(pause)
            pause = min(pause * 2, MAX_POLL_SECONDS)
            self.kube.refresh()

    def _diagnose(self, item, error: BaseException) -> None:
        objects = getattr(error, "objects", [])
        item.workshop_diagnostics = [line for obj in objects[:3] for line in diagnostics.describe(self.kube, obj)]

    def result_of(self, item, call) -> CheckResult:
        spec = spec_of(item)
        result = CheckResult(id=spec.id, title=spec.title, status=PASSED, points=spec.points, earned=spec.points,
                             hint=spec.hint, docs=spec.docs, step=spec.step, seconds=round(call.duration, 3),
                             attempts=getattr(item, "workshop_attempts", 0),
                             diagnostics=getattr(item, "workshop_diagnostics", []))
        error = call.excinfo.value if call.excinfo else None
        if error is None:
            return result
        result.earned = 0
        if isinstance(error, pytest.skip.Exception):
            result.status, result.message = SKIPPED, str(error.msg)
        elif isinstance(error, CheckFailed):
            result.status, result.mismatches = FAILED, [str(item) for item in error.mismatches]
            if error.hints:
                result.hint = " ".join(error.hints)
        elif isinstance(error, AssertionError):
            result.status, result.message = FAILED, _first_line(error) or "an assertion failed"
        elif isinstance(error, CannotCheck):
            result.status, result.message = ERROR, str(error)
        elif isinstance(error, Transient):
            result.status, result.message = ERROR, f"the cluster kept failing to answer: {error}"
        else:  # a bug in the check itself: say so plainly rather than blame the learner
            result.status = ERROR
            result.message = f"the check itself failed ({type(error).__name__}: {_first_line(error)}): please report it"
        return result


STATIC_PATHS = (".spec.", ".data.", ".metadata.", ".type")


def only_static(error: BaseException) -> bool:
    """Does every mismatch concern what a person wrote (spec, data, labels)? Then no amount of
    waiting changes it, and the check fails at once instead of re-reading until its timeout."""
    mismatches = getattr(error, "mismatches", None)
    return bool(mismatches) and all(any(part in f".{m.path}" for part in STATIC_PATHS) and ".status" not in m.path
                                    for m in mismatches)


def spec_of(item) -> CheckSpec:
    marker = item.get_closest_marker("workshop_check")
    if marker and marker.args:
        return marker.args[0]
    name = getattr(item, "name", "check")
    return CheckSpec(id=name, title=name.replace("_", " "), hint="(this check has no @check declaration)")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


# --- declarative checks: check_*.yaml ---------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """YAML with two extra tags: ``!ordered [...]`` compares a list element by element,
    ``!present`` matches any value that is set."""


_Loader.add_constructor("!ordered", lambda loader, node: Ordered(loader.construct_sequence(node, deep=True)))
_Loader.add_constructor("!present", lambda loader, node: PRESENT)


def load_yaml_checks(text: str) -> list[dict]:
    return [document for document in yaml.load_all(text, Loader=_Loader) if document]


class YamlCheckFile(pytest.File):
    """A ``check_*.yaml`` file: one YAML document per check.

    .. code-block:: yaml

        id: l2-config
        title: the settings ConfigMap holds the outbound timeout
        hint: Apply it: kubectl apply -f labs/02-orchestrate/manifests/config-map-settings.yaml
        points: 1
        timeout: 0
        expect:          # each object must exist and contain these fields
          - apiVersion: v1
            kind: ConfigMap
            metadata: {name: workshop-settings, namespace: workshop}
            data: {OUTBOUND_TIMEOUT_SECONDS: "2.0"}
        expect_none:     # no object may contain these fields (a negative check)
          - apiVersion: v1
            kind: Pod
            metadata: {namespace: workshop}
            spec: {hostNetwork: true}
    """

    def collect(self):
        for document in load_yaml_checks(self.path.read_text()):
            missing = [key for key in ("id", "title", "hint") if key not in document]
            if missing:
                raise ValueError(f"{self.path.name}: a check needs {', '.join(missing)}")
            spec = CheckSpec(id=document["id"], title=document["title"], hint=document["hint"],
                             points=int(document.get("points", 1)), docs=document.get("docs", ""),
                             timeout=float(document.get("timeout", DEFAULT_TIMEOUT)),
                             hold=float(document.get("hold", 0)), data_plane=bool(document.get("data_plane", False)),
                             step=document.get("step", ""))
            item = YamlCheck.from_parent(self, name=spec.id, spec=spec, expect=document.get("expect") or [],
                                         expect_none=document.get("expect_none") or [])
            item.add_marker(pytest.mark.workshop_check(spec))
            yield item


class YamlCheck(pytest.Item):
    def __init__(self, *, spec: CheckSpec, expect: list, expect_none: list, **kwargs):
        super().__init__(**kwargs)
        self.spec, self.expect, self.expect_none = spec, expect, expect_none

    def runtest(self):
        plugin = self.config.stash[PLUGIN_KEY]
        plugin.execute(self, self.spec, lambda: assert_objects(plugin.kube, self.expect, self.expect_none))

    def reportinfo(self):
        return self.path, None, f"{self.spec.id}: {self.spec.title}"


def assert_objects(cluster: Cluster, expect: list[dict], expect_none: list[dict]) -> None:
    """Raise CheckFailed unless every ``expect`` object matches and no ``expect_none`` object does."""
    mismatches: list[Mismatch] = []
    objects: list[dict] = []
    for wanted in expect:
        candidates = _candidates(cluster, wanted)
        partial = _without_identity(wanted)
        name = wanted.get("metadata", {}).get("name")
        ref = f"{wanted['kind'].lower()}/{name}" if name else wanted["kind"].lower()
        if not candidates:
            mismatches.append(Mismatch(ref, "<it to exist>", MISSING))
            continue
        diffs = [match(partial, strip_server_fields(obj)) for obj in candidates]
        if any(not diff for diff in diffs):
            continue
        if len(candidates) == 1:
            mismatches += [Mismatch(f"{object_ref(candidates[0])}.{d.path}", d.expected, d.got) for d in diffs[0]]
            objects.append(candidates[0])
        else:
            mismatches.append(Mismatch(ref, f"<one of {len(candidates)} objects matching {render(partial, 100)}>",
                                       "<none>"))
    for unwanted in expect_none:
        partial = _without_identity(unwanted)
        for obj in _candidates(cluster, unwanted):
            if not match(partial, strip_server_fields(obj)):
                mismatches.append(Mismatch(object_ref(obj), f"<no object matching {render(partial, 100)}>",
                                           "<this one matches>"))
                objects.append(obj)
    if mismatches:
        raise CheckFailed(mismatches, objects)


def _candidates(cluster: Cluster, wanted: dict) -> list[dict]:
    metadata = wanted.get("metadata", {})
    items = cluster.list(wanted["kind"], metadata.get("namespace"), wanted.get("apiVersion"))
    if metadata.get("name"):
        items = [item for item in items if item["metadata"]["name"] == metadata["name"]]
    return items


def _without_identity(wanted: dict) -> dict:
    """The fields to compare: all but apiVersion/kind and the name/namespace used to find the object."""
    partial = {key: value for key, value in wanted.items() if key not in ("apiVersion", "kind")}
    metadata = {key: value for key, value in wanted.get("metadata", {}).items() if key not in ("name", "namespace")}
    if metadata:
        partial["metadata"] = metadata
    else:
        partial.pop("metadata", None)
    return partial
