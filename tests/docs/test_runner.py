"""The page runner on small pages made here (no cluster: the cleanup snapshot is off)."""

import io
import shutil
import textwrap

import pytest

from workshop import REPO_ROOT
from workshop.doctest.pages import read_page
from workshop.doctest.runner import docker_engine_reachable, run_page


def run(tmp_path, body, mode="sim"):
    path = tmp_path / "README.md"
    path.write_text(textwrap.dedent(body))
    return run_page(read_page(path, level=9), mode, kubeconfig=None, out=io.StringIO(), check_cleanup=False)


def statuses(result):
    return [item.status for item in result.results]


def test_a_correct_page_passes_with_cwd_and_state_carried_over(tmp_path):
    result = run(tmp_path, """\
        ```console
        $ cd labs && export WHERE=$(basename $PWD)
        $ echo "in $WHERE"
        ```

        ```text
        in labs
        ```

        ```console
        $ pwd
        ```

        ```text
        ...labs
        ```
        """)
    assert result.ok, result.report()
    assert statuses(result) == ["passed", "passed"]


def test_the_repo_tools_come_first_on_path(tmp_path):
    result = run(tmp_path, """\
        ```console
        $ command -v python
        ```

        ```text
        {venv}/python
        ```
        """.replace("{venv}", str(REPO_ROOT / ".venv" / "bin")))
    assert result.ok, result.report()


def test_wrong_output_fails_skips_the_rest_and_still_runs_cleanup(tmp_path):
    proof = tmp_path / "cleanup-ran"
    result = run(tmp_path, f"""\
        ## Step 1

        ```console
        $ echo 'deployment.apps/gateway created'
        ```

        ```text
        deployment.apps/account created
        ```

        ```console
        $ touch {tmp_path}/step-2-ran
        ```

        ## Cleanup

        ```console
        $ touch {proof}
        ```
        """)
    assert not result.ok
    assert statuses(result) == ["failed", "skipped", "passed"]
    assert "first expected line not found in order: 'deployment.apps/account created'" in result.results[0].detail
    assert proof.exists() and not (tmp_path / "step-2-ran").exists()


def test_a_failing_command_fails_unless_the_page_shows_that_outcome(tmp_path):
    failing = run(tmp_path, """\
        ```console
        $ ls /no/such/dir
        ```
        """)
    assert statuses(failing) == ["failed"]
    assert "`ls /no/such/dir` (line 2) exited with status 2" in failing.results[0].detail
    anything = run(tmp_path, """\
        ```console
        $ ls /no/such/dir
        ```

        ```text
        ...
        ```
        """)
    assert statuses(anything) == ["failed"], "`...` alone does not excuse a failure"
    shown = run(tmp_path, """\
        ```console
        $ ls /no/such/dir
        ```

        ```text
        ls: cannot access '/no/such/dir': No such file or directory
        ```
        """)
    assert statuses(shown) == ["passed"]


def test_marked_blocks_are_never_run_and_unknown_markers_fail(tmp_path):
    result = run(tmp_path, f"""\
        {{.needs-laptop}}
        ```console
        $ touch {tmp_path}/laptop-ran
        ```

        {{.needs-real-cluster}}
        ```console
        $ touch {tmp_path}/real-ran
        ```

        {{.needs-magic}}
        ```console
        $ true
        ```
        """)
    assert statuses(result) == ["marked", "marked", "not-runnable"]
    assert "needs-magic has no visible label" in result.results[2].detail
    assert not (tmp_path / "laptop-ran").exists() and not (tmp_path / "real-ran").exists()


def test_e2e_also_runs_the_real_cluster_blocks(tmp_path):
    result = run(tmp_path, f"""\
        {{.needs-laptop}}
        ```console
        $ touch {tmp_path}/laptop-ran
        ```

        {{.needs-real-cluster}}
        ```console
        $ touch {tmp_path}/real-ran
        ```
        """, mode="e2e")
    assert statuses(result) == ["marked", "passed"]
    assert (tmp_path / "real-ran").exists() and not (tmp_path / "laptop-ran").exists()


def test_a_block_that_cannot_run_and_is_not_marked_fails(tmp_path):
    result = run(tmp_path, """\
        ```bash
        echo hi
        ```
        """)
    assert statuses(result) == ["not-runnable"] and not result.ok


@pytest.mark.skipif(docker_engine_reachable() or not shutil.which("podman"),
                    reason="the shim is for podman without a Docker engine")
def test_docker_runs_podman_when_there_is_no_docker(tmp_path):
    result = run(tmp_path, """\
        ```console
        $ docker --version
        ```

        ```text
        podman version ...
        ```
        """)
    assert result.ok, result.report()


EVENTUALLY_PAGE = """\
    {{.eventually}}
    ```console
    $ echo x >> {counter}; wc -l < {counter}
    ```

    ```text
    3
    ```
    """


def test_an_eventually_block_is_run_again_until_its_output_arrives(tmp_path):
    """Like a route that reaches the sidecars seconds after `kubectl apply`: the third try answers."""
    result = run(tmp_path, EVENTUALLY_PAGE.format(counter=tmp_path / "tries"))
    assert result.ok, result.report()
    assert (tmp_path / "tries").read_text().count("x") == 3


def test_the_same_block_without_eventually_fails_on_its_first_answer(tmp_path):
    result = run(tmp_path, EVENTUALLY_PAGE.replace("    {{.eventually}}\n", "").format(counter=tmp_path / "tries"))
    assert statuses(result) == ["failed"], result.report()
    assert (tmp_path / "tries").read_text().count("x") == 1


def test_an_eventually_block_that_never_matches_fails_within_its_bound(tmp_path, monkeypatch):
    from workshop.doctest import markers

    monkeypatch.setattr(markers, "EVENTUALLY_SECONDS", 2.0)
    page = EVENTUALLY_PAGE.replace("    3\n", "    never\n").format(counter=tmp_path / "tries")
    result = run(tmp_path, page)
    assert statuses(result) == ["failed"], result.report()
    assert "an `eventually` block: run" in result.report()
    assert 2 <= (tmp_path / "tries").read_text().count("x") <= 4


def test_eventually_blocks_carry_a_visible_label_in_both_languages():
    css = (REPO_ROOT / "docs" / "_static" / "workshop.css").read_text()
    assert 'div.eventually::before' in css and 'html[lang="ja"] div.eventually::before' in css
