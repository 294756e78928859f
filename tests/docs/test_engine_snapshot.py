"""The cleanup proof of a page with no cluster (level 1): what compose made on the engine.

`docker` here is a small script keeping its containers, pods, volumes and networks as files,
so the tests see the real commands the snapshot runs, with no container engine.
"""

import os
import textwrap

import pytest

from workshop.doctest import engine_snapshot
from workshop.doctest.pages import lab_pages
from workshop.doctest.runner import uses_container_engine

# One folder per kind under $STATE, one file per object; `ls` prints the compose-made ones
# (a file holding "compose"), `rm` deletes; pods are unknown when $NO_PODS is set (Docker).
FAKE_DOCKER = textwrap.dedent("""\
    #!/usr/bin/env bash
    printf '%s\\n' "$*" >>"$STATE/calls"
    case "$1" in
      ps) kind=container ;; pod) kind=pod; shift ;; volume) kind=volume; shift ;; network) kind=network; shift ;;
      rm) kind=container ;; *) exit 2 ;;
    esac
    [[ $kind == pod && -n "${NO_PODS:-}" ]] && { echo "unknown command: pod" >&2; exit 1; }
    case "$1" in
      ps|ls) for f in "$STATE/$kind"/*; do [[ -f $f ]] && grep -qx compose "$f" && basename "$f"; done; exit 0 ;;
      rm) rm "$STATE/$kind/${@: -1}" ;;
    esac
    """)


@pytest.fixture
def engine(tmp_path):
    """(env, make): env runs the fake docker; make(kind, name, compose=True) creates an object."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    for kind in engine_snapshot.KINDS:
        (state / kind).mkdir(parents=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", STATE=str(state))

    def make(kind: str, name: str, compose: bool = True) -> None:
        (state / kind / name).write_text("compose\n" if compose else "other\n")

    make.calls = lambda: (state / "calls").read_text().splitlines()
    return env, make


def test_only_what_compose_made_is_seen(engine):
    env, make = engine
    make("container", "workshop_gateway_1")
    make("container", "someone-elses", compose=False)
    make("pod", "pod_workshop")
    make("volume", "workshop_account-data")
    make("network", "workshop_default")
    assert engine_snapshot.take(env) == {("container", "workshop_gateway_1"), ("pod", "pod_workshop"),
                                         ("volume", "workshop_account-data"), ("network", "workshop_default")}
    assert all(engine_snapshot.LABEL in call or call.startswith("pod ls") for call in make.calls())


def test_a_clean_page_is_none_and_a_leftover_is_named_then_removed_containers_first(engine):
    env, make = engine
    make("volume", "older-project_data")  # there before the page: neither reported nor removed
    before = engine_snapshot.take(env)
    assert engine_snapshot.difference(before, env) is None
    make("network", "workshop_default")
    make("volume", "workshop_account-data")
    make("container", "workshop_account_1")
    assert engine_snapshot.difference(before, env) == (
        "the cleanup did not leave the container engine as found: left behind: container workshop_account_1, "
        "volume workshop_account-data, network workshop_default")
    assert engine_snapshot.remove_left(before, env) == [
        "container workshop_account_1", "volume workshop_account-data", "network workshop_default"]
    removals = [call for call in make.calls() if " rm " in f" {call} "]
    assert removals == ["rm -f workshop_account_1", "volume rm -f workshop_account-data", "network rm workshop_default"]
    assert engine_snapshot.take(env) == before


def test_an_engine_without_pods_lists_the_rest(engine):
    env, make = engine
    make("pod", "pod_workshop")
    make("container", "workshop-gateway-1")
    assert engine_snapshot.take({**env, "NO_PODS": "1"}) == {("container", "workshop-gateway-1")}


def test_no_engine_at_all_is_an_empty_snapshot(tmp_path):
    assert engine_snapshot.take({"PATH": str(tmp_path)}) == set()


def test_level_1_and_only_level_1_runs_on_the_container_engine():
    assert [page.level for page in lab_pages() if uses_container_engine(page)] == [1]
