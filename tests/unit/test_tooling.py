"""The small pieces of the site and the workshop command."""

import pytest

from workshop import cli
from workshop.versions import all_versions, load_versions

levelmap = pytest.importorskip("levelmap", reason="docs/_ext is on sys.path through conftest")


def test_versions_file_rejects_a_malformed_line(tmp_path):
    bad = tmp_path / "versions.env"
    bad.write_text("KIND_VERSION = v1\n")
    with pytest.raises(ValueError, match="expected KEY=value"):
        load_versions(bad)


def test_derived_versions_are_composed_from_the_pinned_ones():
    versions = all_versions()
    assert versions["KIND_NODE_IMAGE"] == f"kindest/node:{versions['KUBERNETES_VERSION']}@{versions['KIND_NODE_DIGEST']}"


def test_version_substitution_reaches_code_blocks_and_leaves_unknown_keys():
    from versionsubst import substitute

    text = "```console\n$ curl .../{{ KIND_VERSION }}/kind\n```\n{{ NOT_A_KEY }}"
    assert substitute(text, {"KIND_VERSION": "v9"}) == "```console\n$ curl .../v9/kind\n```\n{{ NOT_A_KEY }}"


def test_level_map_svg_names_every_level():
    from workshop.levels import LEVELS

    svg = levelmap.render_svg([f"#{level.slug}" for level in LEVELS])
    for level in LEVELS:
        assert f'href="#{level.slug}"' in svg and f"{level.number} · {level.short}" in svg


def test_wrap_never_exceeds_the_width_except_for_one_long_word():
    assert all(len(line) <= 26 for line in levelmap.wrap("routing, resilience, mTLS, tracing and more words"))


def test_cli_unknown_command_exits_2(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_cli_versions_prints_one_value(capsys):
    assert cli.main(["versions", "ISTIO_VERSION"]) == 0
    assert capsys.readouterr().out.strip() == load_versions()["ISTIO_VERSION"]


def test_cli_versions_unknown_key_is_a_clear_error(capsys):
    assert cli.main(["versions", "NOPE"]) == 2
    assert "no version named" in capsys.readouterr().err
