"""A page run for a real-node sim gets kind's CLI and release URLs through the stand-ins, and a
page run for any other cluster does not (no cluster needed: the cleanup snapshot is off)."""

import io
import textwrap

from workshop.doctest.pages import read_page
from workshop.doctest.runner import run_page

PAGE = """\
    ```console
    $ command -v kind >/dev/null && head -n 2 "$(command -v kind)" | tail -n 1
    $ curl -s -w ' %{http_code}\\n' https://example.org/not-a-release.yaml
    ```

    ```text
    # doctest: kind here is a stand-in for kind's CLI on real-node sim 7 (workshop/doctest/kind_shim.py).
    {"error": "https://example.org/not-a-release.yaml is not in the local release mirror: ...; it never connects upstream"}
    ...
    ```
    """


def _run(tmp_path, real_sim):
    path = tmp_path / "README.md"
    path.write_text(textwrap.dedent(PAGE))
    return run_page(read_page(path, level=9), "sim", kubeconfig=None, out=io.StringIO(), check_cleanup=False,
                    real_sim=real_sim)


def test_a_real_node_page_gets_the_kind_stand_in_and_the_release_mirror(tmp_path):
    result = _run(tmp_path, real_sim=7)
    assert result.ok, result.report()


def test_a_kwok_page_gets_the_mirror_but_not_kind(tmp_path):
    path = tmp_path / "README.md"
    # A KWOK page's `make lab-4` fetches a release file too; loading images needs real nodes.
    path.write_text(textwrap.dedent("""\
        ```console
        $ echo "proxy=${HTTPS_PROXY%:*}"
        $ grep -c "stand-in for kind" "$(type -P kind || echo /dev/null)"
        ```

        ```text
        proxy=http://127.0.0.1
        0
        ```
        """))
    result = run_page(read_page(path, level=9), "sim", kubeconfig=None, out=io.StringIO(), check_cleanup=False,
                      real_sim=None)
    assert result.ok, result.report()


def test_the_cli_runs_real_node_pages_only_on_a_real_node_sim(capsys):
    from workshop.doctest.__main__ import _pages_for
    from workshop.doctest.pages import lab_pages

    pages = lab_pages([2, 4])
    assert [page.level for page in _pages_for(pages, real_sim=None, own_kubeconfig=False, chosen=False)] == [4]
    assert "Left out, as they run on real nodes: 02-orchestrate" in capsys.readouterr().err
    assert _pages_for(pages, real_sim=None, own_kubeconfig=False, chosen=True) is None
    assert "`make sim-up NODES=real SIM=3`, then `python -m workshop.doctest run --sim 3 --levels 2`" in \
        capsys.readouterr().err
    assert _pages_for(pages, real_sim=3, own_kubeconfig=False, chosen=True) == pages
    assert _pages_for(pages, real_sim=None, own_kubeconfig=True, chosen=True) == pages


def test_the_cli_refuses_a_sim_without_kinds_host_ports_for_a_page_that_curls_them(monkeypatch):
    from workshop.doctest.__main__ import _learner_ports_problem
    from workshop.doctest.pages import lab_pages
    from workshop.sim.cluster import Sim

    # As a sim records it when another sim held 127.0.0.1:9080 at its start.
    monkeypatch.setattr(Sim, "state", lambda self: {"host_ports": {"40123": 30080, "40124": 30443},
                                                     "host_ports_held": {"9080": "pid 7 (socat)"}})
    level_5, level_2 = lab_pages([5]), lab_pages([2])  # level 2 port-forwards; level 5 curls 9080
    problem = _learner_ports_problem(level_5, real_sim=6)
    assert problem.startswith("05-istio curls kind's host ports, and this sim does not listen on")
    assert "127.0.0.1:9080 was held by pid 7 (socat)" in problem
    assert _learner_ports_problem(level_2, real_sim=6) is None
    monkeypatch.setattr(Sim, "state", lambda self: {"host_ports": {"9080": 30080, "9443": 30443}})
    assert _learner_ports_problem(level_5, real_sim=6) is None
