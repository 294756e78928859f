"""Extracting command blocks from a page, the way Sphinx reads it."""

import re
import textwrap

from workshop.doctest.pages import lab_pages, read_page, split_commands
from workshop.versions import all_versions

PAGE = textwrap.dedent("""\
    (level-9)=
    # Level 9 — Example

    ## Step 1 — Deploy

    Create the namespace and look at it:

    ```console
    $ kubectl create namespace demo
    $ kubectl get namespace demo \\
        -o name
    ```

    ```text
    namespace/demo created
    namespace/demo
    ```

    Some prose, then an unrelated text block that is NOT expected output:

    ```console
    $ echo {{ KIND_VERSION }} {{ NOT_A_KEY }}
    ```

    Prose in between.

    ```text
    not the output of the block above
    ```

    ::::{tab-set}
    :::{tab-item} Linux
    :sync: linux

    {.needs-laptop}
    ```console
    $ sudo apt-get install podman
    ```
    :::
    ::::

    ```{code-block} console
    :caption: a code-block directive counts too

    $ kubectl get pods
    ```

    ```bash
    kubectl get pods
    ```

    ```{literalinclude} manifest.yaml
    :language: console
    ```

    ## Cleanup

    ```console
    $ kubectl delete namespace demo
    ```
    """)


def page_from(tmp_path, text=PAGE):
    path = tmp_path / "README.md"
    path.write_text(text)
    return read_page(path, level=9)


def test_blocks_come_in_page_order_with_their_line(tmp_path):
    blocks = page_from(tmp_path).blocks
    assert [block.commands[0].text if block.commands else block.lang for block in blocks] == [
        "kubectl create namespace demo",
        f"echo {all_versions()['KIND_VERSION']} {{{{ NOT_A_KEY }}}}",
        "sudo apt-get install podman",
        "kubectl get pods",
        "bash",
        "kubectl delete namespace demo",
    ]
    assert PAGE.splitlines()[blocks[0].line - 1] == "```console"
    assert PAGE.splitlines()[blocks[0].commands[1].line - 1].startswith("$ kubectl get namespace demo")
    assert PAGE.splitlines()[blocks[2].line - 1] == "```console", "a block inside a tab keeps its page line"


def test_continuation_lines_stay_as_the_copy_button_copies_them(tmp_path):
    block = page_from(tmp_path).blocks[0]
    assert block.commands[1].text == "kubectl get namespace demo \\\n    -o name"


def test_expected_output_is_only_the_text_block_right_under(tmp_path):
    blocks = page_from(tmp_path).blocks
    assert blocks[0].expected == "namespace/demo created\nnamespace/demo\n"
    assert blocks[1].expected is None


def test_markers_sections_and_problems(tmp_path):
    blocks = page_from(tmp_path).blocks
    assert blocks[2].markers == ["needs-laptop"]
    assert [block.is_cleanup for block in blocks] == [False] * 5 + [True]
    assert blocks[4].problem.startswith("a `bash` block cannot be run")
    assert all(block.problem is None for block in blocks[:4])


def test_an_output_line_in_a_command_block_is_a_problem():
    commands, problem = split_commands("$ kubectl get ns\nNAME STATUS\n", 10)
    assert [command.text for command in commands] == ["kubectl get ns"]
    assert problem == "line 11 is not a `$ ` command or an indented continuation: 'NAME STATUS'"
    assert split_commands("\n", 3)[1] == "the console block has no `$ ` command"


def test_every_existing_lab_page_parses():
    pages = lab_pages()
    assert pages and pages[0].level == 0
    assert [page.level for page in pages] == sorted(page.level for page in pages)
    versions = all_versions()
    for page in pages:
        for block in page.blocks:
            left = [key for key in re.findall(r"\{\{\s*([A-Z0-9_]+)\s*\}\}", block.source) if key in versions]
            assert not left, f"{block.where}: {{{{ {left[0]} }}}} was not substituted"


def test_a_command_that_never_returns_is_a_problem_unless_in_the_background():
    for command in ("kubectl -n workshop get pods --watch", "kubectl get hpa -w",
                    "kubectl -n workshop port-forward svc/gateway 8080:8080", "kubectl logs -f deploy/gateway"):
        problem = split_commands(f"$ {command}\n", 1)[1]
        assert problem and "never returns" in problem, command
        assert split_commands(f"$ {command} &\n", 1)[1] is None
    assert split_commands("$ kubectl get pods -o wide\n$ kubectl logs deploy/gateway --tail=5\n", 1)[1] is None


def test_commands_that_bash_cannot_parse_are_caught_even_when_marked(tmp_path):
    page = page_from(tmp_path, textwrap.dedent("""\
        {.needs-real-cluster}
        ```console
        $ kubectl port-forward svc/gateway 8080:8080 >/dev/null & && sleep 2
        $ for c in east west; do echo $c
        ```

        ```console
        $ kubectl port-forward svc/gateway 8080:8080 >/dev/null &
        $ for c in east west; do echo $c; done
        ```
        """))
    broken, fine = page.blocks
    assert broken.syntax_error.startswith("line 3: bash cannot parse `kubectl port-forward svc/gateway 8080:8080")
    assert "unexpected token `&&'" in broken.syntax_error and "line 4: bash cannot parse `for c in" in broken.syntax_error
    assert fine.syntax_error is None
