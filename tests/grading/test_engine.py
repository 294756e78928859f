"""`workshop check` end to end against the API stub: exit statuses, convergence, retries,
terminal errors, negative checks, YAML asserts, reports and the number of requests."""

import xml.etree.ElementTree as ET

import pytest
from apistub import deployment
from checkrun import run_workshop_check

DEPLOYMENTS = "/apis/apps/v1/namespaces/workshop/deployments"
PODS = "/api/v1/namespaces/workshop/pods"

AVAILABLE_CHECK = """
    from workshop.grading import check, verify

    @check(id="t-available", title="account is available", points=2, timeout=TIMEOUT,
           hint="Scale it: kubectl -n workshop scale deployment/account --replicas=2", docs="https://example.test/docs")
    def check_available(cluster, namespace):
        with verify() as v:
            v.match(cluster.get("Deployment", "account", namespace), {"spec": {"replicas": 2},
                    "status": {"availableReplicas": 2}}, ref="deployment/account")
"""


def checks_with_timeout(write_checks, timeout: float, extra: dict | None = None):
    return write_checks({"check_available.py": AVAILABLE_CHECK.replace("TIMEOUT", str(timeout)), **(extra or {})})


def test_a_passing_run_exits_0_and_says_what_is_next(stub, tmp_path, write_checks):
    stub.objects[DEPLOYMENTS] = [deployment("account", replicas=2)]
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)),
                             "--checks", str(checks_with_timeout(write_checks, 0)), json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout + run.stderr
    first_line = run.stdout.splitlines()[0]
    assert first_line.startswith("Grading level 2 (Orchestrate) on context kind-stub (http://127.0.0.1:")
    assert "✓ t-available account is available" in run.stdout
    assert "Score: 2/2 points" in run.stdout and "Next: level 3, make lab-3." in run.stdout
    assert run.report["status"] == "passed" and run.report["earned"] == 2


def test_a_failing_run_exits_1_with_hint_first_then_every_mismatch(stub, tmp_path, write_checks):
    stub.objects[DEPLOYMENTS] = [deployment("account", replicas=1)]
    junit = tmp_path / "r.xml"
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--junit", str(junit),
                             "--checks", str(checks_with_timeout(write_checks, 0)), json_path=tmp_path / "r.json")
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    failed = lines.index(next(line for line in lines if line.startswith("✗ t-available")))
    assert lines[failed + 1].strip() == "hint: Scale it: kubectl -n workshop scale deployment/account --replicas=2"
    assert lines[failed + 2].strip() == "deployment/account.spec.replicas: expected 2, got 1"
    assert lines[failed + 3].strip() == "deployment/account.status.availableReplicas: expected 2, got 1"
    assert "managedFields" not in run.stdout and "resourceVersion" not in run.stdout
    assert "Score: 0/2 points" in run.stdout and "Next: Scale it" in run.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "1" and suite.find("testcase/failure") is not None


def test_a_check_converges_when_the_cluster_catches_up(stub, tmp_path, write_checks):
    # The Deployment becomes available on the third read: a check with time to wait passes.
    stub.objects[DEPLOYMENTS] = lambda reads: [deployment("account", replicas=2, available=2 if reads >= 3 else 1)]
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)),
                             "--checks", str(checks_with_timeout(write_checks, 5)), json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout
    assert run.report["checks"][0]["attempts"] == 3 and stub.requests[DEPLOYMENTS] == 3


def test_wait_gives_a_short_check_more_time(stub, tmp_path, write_checks):
    stub.objects[DEPLOYMENTS] = lambda reads: [deployment("account", replicas=2, available=2 if reads >= 3 else 1)]
    kubeconfig, checks = str(stub.kubeconfig(tmp_path)), str(checks_with_timeout(write_checks, 0))
    assert run_workshop_check(2, "--kubeconfig", kubeconfig, "--checks", checks, json_path=tmp_path / "a.json").returncode == 1
    run = run_workshop_check(2, "--kubeconfig", kubeconfig, "--checks", checks, "--wait", "10", json_path=tmp_path / "b.json")
    assert run.returncode == 0, run.stdout


def test_transient_errors_are_retried(stub, tmp_path, write_checks):
    stub.objects[DEPLOYMENTS] = [deployment("account", replicas=2)]
    stub.script[DEPLOYMENTS] = [503, 429]
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)),
                             "--checks", str(checks_with_timeout(write_checks, 5)), json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout
    assert stub.requests[DEPLOYMENTS] == 3


def test_forbidden_is_terminal_exit_2_at_once(stub, tmp_path, write_checks):
    stub.script[DEPLOYMENTS] = [403] * 50
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)),
                             "--checks", str(checks_with_timeout(write_checks, 30)), json_path=tmp_path / "r.json")
    assert run.returncode == 2, run.stdout
    assert stub.requests[DEPLOYMENTS] == 1, "a 403 must not be retried"
    assert run.seconds < 15, "a terminal error must not wait for the check's timeout"
    assert "403 Forbidden" in run.stdout and "workshop/grading/rbac.yaml" in run.stdout


def test_a_missing_crd_exits_2_naming_the_lab_that_installs_it(stub, tmp_path, write_checks):
    checks = write_checks({"check_mesh.py": """
        from workshop.grading import check

        @check(id="t-mesh", title="account routes 90/10", hint="Apply the VirtualService", timeout=30)
        def check_mesh(cluster, namespace):
            assert cluster.get("VirtualService", "account", namespace) is not None
    """})
    run = run_workshop_check(5, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 2, run.stdout
    assert "Istio is not installed in this cluster: run make lab-5." in run.stdout
    assert run.seconds < 15


def test_an_unreachable_cluster_exits_2_with_what_to_run(tmp_path, write_checks):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text('{"apiVersion": "v1", "kind": "Config", "current-context": "kind-gone",'
                          ' "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],'
                          ' "users": [{"name": "u", "user": {"token": "t"}}],'
                          ' "contexts": [{"name": "kind-gone", "context": {"cluster": "c", "user": "u"}}]}')
    run = run_workshop_check(2, "--kubeconfig", str(kubeconfig), "--checks", str(checks_with_timeout(write_checks, 0)),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 2
    assert "Cannot reach the Kubernetes API server at https://127.0.0.1:1" in run.stdout
    assert "make cluster" in run.stdout and "Traceback" not in run.stdout + run.stderr


def test_a_broken_kubeconfig_exits_2_without_a_traceback(tmp_path, write_checks):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("this: [is not, a kubeconfig")
    run = run_workshop_check(2, "--kubeconfig", str(kubeconfig), "--checks", str(checks_with_timeout(write_checks, 0)),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 2 and "Traceback" not in run.stdout + run.stderr
    assert "kubeconfig" in run.stdout


def test_a_negative_check_must_hold(stub, tmp_path, write_checks):
    bare_pod = {"metadata": {"name": "debug", "namespace": "workshop"}, "spec": {}}
    owned = {"metadata": {"name": "account-1", "namespace": "workshop", "ownerReferences": [{"kind": "ReplicaSet"}]}}
    # No bare pod on the first two reads, then one appears: a held check catches it.
    stub.objects[PODS] = lambda reads: [owned] + ([bare_pod] if reads >= 3 else [])
    checks = write_checks({"check_no_bare_pods.py": """
        from workshop.grading import check, verify

        @check(id="t-no-bare-pods", title="no pod without an owner", hint="Delete it", hold=2)
        def check_no_bare_pods(cluster, namespace):
            with verify() as v:
                for pod in cluster.list("Pod", namespace):
                    if not pod["metadata"].get("ownerReferences"):
                        v.fail(f"pod/{pod['metadata']['name']}.metadata.ownerReferences", "<an owner>", None, pod)
    """})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 1, run.stdout
    assert "pod/debug.metadata.ownerReferences: expected an owner, got null" in run.stdout


def test_a_held_check_passes_when_nothing_breaks(stub, tmp_path, write_checks):
    stub.objects[PODS] = [{"metadata": {"name": "a", "namespace": "workshop", "ownerReferences": [{}]}}]
    checks = write_checks({"check_hold.py": """
        from workshop.grading import check

        @check(id="t-hold", title="no pod without an owner", hint="Delete it", hold=1)
        def check_hold(cluster, namespace):
            assert all(pod["metadata"].get("ownerReferences") for pod in cluster.list("Pod", namespace))
    """})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout
    assert stub.requests[PODS] >= 2, "holding means reading again"


def test_one_list_per_kind_per_run(stub, tmp_path, write_checks):
    stub.objects[DEPLOYMENTS] = [deployment(name, replicas=2) for name in ("account", "order")]
    stub.objects["/api/v1/namespaces/workshop/services"] = []
    many = {f"check_{index}.py": AVAILABLE_CHECK.replace("TIMEOUT", "0").replace("t-available", f"t-{index}")
            .replace("def check_available", f"def check_{index}") for index in range(5)}
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(write_checks(many)),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout
    assert stub.requests[DEPLOYMENTS] == 1 and stub.requests["/version"] == 1
    assert run.report["api_requests"] == 2 and stub.methods["POST"] == 0


def test_yaml_asserts_match_partial_objects(stub, tmp_path, write_checks):
    stub.objects[DEPLOYMENTS] = [deployment("account", replicas=1)]
    checks = write_checks({"check_objects.yaml": """
        id: t-yaml-pass
        title: account runs its image
        hint: Set the image
        timeout: 0
        expect:
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: account, namespace: workshop}
            spec: {template: {spec: {containers: [{name: account, image: localhost/workshop/account:dev}]}}}
        ---
        id: t-yaml-fail
        title: account runs 3 replicas and no debug pod
        hint: Scale account to 3
        timeout: 0
        expect:
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: account, namespace: workshop}
            spec: {replicas: 3, paused: null}
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: customer, namespace: workshop}
        expect_none:
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {namespace: workshop}
            spec: {replicas: 1}
    """})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 1, run.stdout
    statuses = {item["id"]: item for item in run.report["checks"]}
    assert statuses["t-yaml-pass"]["status"] == "passed"
    assert statuses["t-yaml-fail"]["mismatches"] == [
        "deployment/account.spec.replicas: expected 3, got 1",
        "deployment/customer: expected it to exist, got nothing",
        'deployment/account: expected no object matching {"spec": {"replicas": 1}}, got this one matches',
    ]
    assert stub.requests[DEPLOYMENTS] == 1


def test_a_crashing_check_is_reported_as_a_bug_not_blamed_on_the_learner(stub, tmp_path, write_checks):
    checks = write_checks({"check_bug.py": """
        from workshop.grading import check

        @check(id="t-bug", title="buggy", hint="-", timeout=0)
        def check_bug(cluster):
            return {}["nope"]
    """})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 2
    assert "the check itself failed (KeyError" in run.stdout


def test_a_check_file_that_does_not_load_exits_2(stub, tmp_path, write_checks):
    checks = write_checks({"check_broken.py": "def check_x(:\n"})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 2 and "cannot load" in run.stdout


@pytest.mark.parametrize("argv", [["9"], ["2", "--wait", "-1"]])
def test_bad_arguments_get_one_sentence(argv, tmp_path):
    run = run_workshop_check(*argv, json_path=tmp_path / "r.json")
    assert run.returncode == 2 and "Traceback" not in run.stderr


def test_k_selects_checks_by_id(stub, tmp_path, write_checks):
    stub.objects[DEPLOYMENTS] = [deployment("account", replicas=2)]
    checks = checks_with_timeout(write_checks, 0, {"check_other.py": """
        from workshop.grading import check

        @check(id="t-other", title="other", hint="-", timeout=0)
        def check_other(cluster):
            raise AssertionError("never selected")
    """})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             "-k", "t-available", json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout
    assert [item["id"] for item in run.report["checks"]] == ["t-available"]
    # A subset that passes is not the level done: say so, and how to grade all of it.
    assert run.report["not_selected"] == 1
    assert "Level 2 is done" not in run.stdout
    assert "1 other check(s) of level 2 were not run: make check-2 grades the whole level." in run.stdout


GATEWAY_CHECK = """
    from workshop.grading import check, verify
    from workshop.grading.httpprobe import expect_http

    @check(id="t-http", title="the gateway answers", hint="port-forward it", data_plane=True, timeout=0)
    def check_http(service_http):
        with verify() as v:
            for mismatch in expect_http(service_http("gateway", "/healthz"), status=200):
                v.fail(mismatch.path, mismatch.expected, mismatch.got)
"""
PROXY = "/api/v1/namespaces/workshop/services/gateway:http/proxy/healthz"


def test_a_data_plane_check_is_skipped_on_fake_nodes(stub, tmp_path, write_checks):
    stub.objects["/api/v1/nodes"] = [{"metadata": {"name": "kwok-node-1", "annotations": {"kwok.x-k8s.io/node": "fake"}}}]
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)),
                             "--checks", str(write_checks({"check_http.py": GATEWAY_CHECK})), json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout
    assert run.report["checks"][0]["status"] == "skipped" and run.report["total"] == 0
    assert "skipped: needs a real cluster" in run.stdout and stub.requests[PROXY] == 0


def test_a_data_plane_check_probes_through_the_service_proxy_on_real_nodes(stub, tmp_path, write_checks):
    stub.objects["/api/v1/nodes"] = [{"metadata": {"name": "kind-control-plane"}}]
    stub.raw[PROXY] = (503, b'{"status": "starting"}')  # the app's own 503: an answer, not a transport failure
    checks = write_checks({"check_http.py": GATEWAY_CHECK})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 1, run.stdout
    assert "service proxy workshop/gateway:http status: expected 200, got 503" in run.stdout
    stub.raw[PROXY] = (200, b"ok")
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r2.json")
    assert run.returncode == 0, run.stdout


def test_testinfra_runs_host_checks(stub, tmp_path, write_checks):
    marker = tmp_path / "marker.txt"
    marker.write_text("ready\n")
    checks = write_checks({"check_host.py": f"""
        from workshop.grading import check

        @check(id="t-host", title="the marker file says ready", hint="write it", timeout=0)
        def check_host(testinfra_host):
            host = testinfra_host("local://")
            assert host.file({str(marker)!r}).contains("ready")
            assert host.run("true").rc == 0
    """})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout
    marker.write_text("not yet\n")
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r2.json")
    assert run.returncode == 1, run.stdout


def test_a_mismatch_in_what_was_written_fails_at_once(stub, tmp_path, write_checks):
    # spec.replicas is what the learner wrote: re-reading cannot change it, so no waiting (unless --wait).
    stub.objects[DEPLOYMENTS] = [deployment("account", replicas=1)]
    checks = write_checks({"check_spec.py": """
        from workshop.grading import check, verify

        @check(id="t-spec", title="account asks for 2 replicas", hint="Scale it", timeout=20)
        def check_spec(cluster, namespace):
            with verify() as v:
                v.match(cluster.get("Deployment", "account", namespace), {"spec": {"replicas": 2}})
    """})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    assert run.returncode == 1 and run.report["checks"][0]["attempts"] == 1 and run.seconds < 15


def test_wait_does_not_wait_out_a_mismatch_in_what_was_written(stub, tmp_path, write_checks):
    # Only spec fields differ: nothing the cluster does changes them, so --wait returns at once.
    stub.objects[DEPLOYMENTS] = [deployment("account", replicas=1)]
    checks = write_checks({"check_spec.py": """
        from workshop.grading import check, verify

        @check(id="t-spec", title="account asks for 2 replicas", hint="Scale it", timeout=0)
        def check_spec(cluster, namespace):
            with verify() as v:
                v.match(cluster.get("Deployment", "account", namespace), {"spec": {"replicas": 2}})

        @check(id="t-synced", title="a controller writes it", hint="Wait for the sync", timeout=0, reconciled=True)
        def check_synced(cluster, namespace):
            with verify() as v:
                v.match(cluster.get("Deployment", "account", namespace), {"spec": {"replicas": 2}})
    """})
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             "--wait", "20", "-k", "t-spec", json_path=tmp_path / "r.json")
    assert run.returncode == 1 and run.report["checks"][0]["attempts"] == 1 and run.seconds < 15, run.stdout
    run = run_workshop_check(2, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             "--wait", "4", "-k", "t-synced", json_path=tmp_path / "s.json")
    assert run.returncode == 1 and run.report["checks"][0]["attempts"] > 1, run.stdout

