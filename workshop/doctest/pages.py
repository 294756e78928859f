r"""Read a lab page's command blocks, in page order, with MyST's own markdown parser.

    >>> from workshop.doctest.pages import lab_pages, split_commands
    >>> [block.where for block in lab_pages()[0].blocks][:1]       # doctest: +SKIP
    ['labs/00-setup/README.md:30']
    >>> commands, problem = split_commands("$ kubectl get pods\n$ kubectl get svc", first_line=1)
    >>> [command.text for command in commands], problem
    (['kubectl get pods', 'kubectl get svc'], None)

A step on a page is a ``console`` block of commands with ``$ `` prompts (continuation lines
indented), then optionally a ``text`` block with the expected output::

    ```console
    $ kubectl get pods -n workshop
    ```

    ```text
    NAME                       READY   STATUS    RESTARTS   AGE
    gateway-7d9f8b6c5d-x2x4z   1/1     Running   0          20s
    ```

Why the MyST parser and not regexes: blocks nested in directives (tabs, notes), attrs_block
markers and fences of four backticks are then read exactly as Sphinx reads them. Directive
bodies are parsed again, as their directive would, so a block inside a tab is found too.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from workshop import REPO_ROOT
from workshop.doctest.markers import EVENTUALLY, markers_of

# Languages whose blocks get a copy button on the site (conf.py's copybutton_selector): a
# learner copies them, so each one must be run or marked. Only `console` has the prompts
# that separate commands from what they print, so only `console` blocks can be run.
COMMAND_LANGS = {"console", "shell", "bash", "sh", "powershell"}
RUNNABLE_LANG = "console"
OUTPUT_LANG = "text"
# Directives whose body is not markdown: never searched for blocks.
LITERAL_DIRECTIVES = {"literalinclude", "include", "raw", "math", "image", "figure", "csv-table",
                      "mermaid", "graphviz", "eval-rst", "toctree", "glossary"}
CODE_DIRECTIVES = {"code-block", "code", "sourcecode"}
PROMPT = "$ "
# Commands that run until interrupted: on a page they block every later step (and the test
# until its timeout). A page runs them in the background (`... &`) or marks the block.
NEVER_RETURNS = re.compile(r"(\bkubectl\b.*(\s--watch\b|\s-w\b|\bport-forward\b|\blogs\b.*\s(-f|--follow)\b)"
                           r"|\btail\s+-f\b|\b(podman|docker)\s+logs\b.*\s(-f|--follow)\b)")
OPTION_LINE = re.compile(r"^:[\w-]+:( .*)?$")


@dataclass
class Command:
    text: str  # what the copy button copies: prompt removed, continuation lines kept
    line: int  # 1-based line on the page


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    source: str
    section: str  # the heading the block is under
    markers: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    expected: str | None = None
    problem: str | None = None  # why it cannot run (when it is not marked either)
    syntax_error: str | None = None  # `bash -n` says the commands cannot parse: wrong even when marked
    eventually: bool = False  # {.eventually}: the change it shows takes seconds to arrive (runner retries)

    @property
    def where(self) -> str:
        path = self.path.relative_to(REPO_ROOT) if self.path.is_relative_to(REPO_ROOT) else self.path
        return f"{path}:{self.line}"

    @property
    def is_cleanup(self) -> bool:
        return self.section.strip().lower().startswith("cleanup")


@dataclass
class Page:
    path: Path
    level: int | None
    blocks: list[Block]

    @property
    def name(self) -> str:
        return self.path.parent.name


@lru_cache(maxsize=1)
def _create_parser():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    config = MdParserConfig(enable_extensions=set(_conf_value("myst_enable_extensions")),
                            heading_anchors=_conf_value("myst_heading_anchors"))
    return create_md_parser(config, RendererHTML)


@lru_cache(maxsize=None)
def _conf_value(name: str):
    """A value assigned in conf.py, read without importing it (importing conf.py runs the site setup)."""
    import ast

    tree = ast.parse((REPO_ROOT / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError(f"conf.py does not set {name}")


@lru_cache(maxsize=1)
def _substitute():
    """docs/_ext/versionsubst.substitute: the site's own {{ KEY }} replacement, not a copy of it."""
    spec = importlib.util.spec_from_file_location("versionsubst", REPO_ROOT / "docs" / "_ext" / "versionsubst.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.substitute


def substitute_versions(text: str) -> str:
    from workshop.versions import all_versions

    return _substitute()(text, all_versions())


def split_commands(source: str, first_line: int) -> tuple[list[Command], str | None]:
    """``$ ``-prompted commands of a console block; a line that is neither a command nor an
    indented continuation is a problem (output belongs in the following ``text`` block)."""
    commands: list[Command] = []
    for offset, line in enumerate(source.splitlines()):
        if line.startswith(PROMPT):
            commands.append(Command(line[len(PROMPT):], first_line + offset))
        elif commands and (line.startswith((" ", "\t")) or not line.strip()):
            commands[-1].text += "\n" + line
        elif line.strip():
            return commands, f"line {first_line + offset} is not a `$ ` command or an indented continuation: {line!r}"
    for command in commands:
        command.text = command.text.rstrip("\n")
        if NEVER_RETURNS.search(command.text) and not command.text.rstrip().endswith("&"):
            return commands, (f"line {command.line}: `{command.text.splitlines()[0]}` never returns: "
                              "end it with ` &` (and stop it later), or mark the block")
    if not commands:
        return commands, "the console block has no `$ ` command"
    return commands, None


def bash_syntax_error(commands: list[Command]) -> str | None:
    """What `bash -n` (parse, run nothing) says about the commands, or None if they parse.

    Checked for marked blocks too: a block that never runs here must still be valid shell
    for the learner who pastes it."""
    errors = []
    for command in commands:
        result = subprocess.run(["bash", "-n"], input=command.text + "\n", capture_output=True, text=True)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or ["does not parse"]
            message = next((line for line in lines if "syntax error" in line), lines[-1])
            errors.append(f"line {command.line}: bash cannot parse `{command.text.splitlines()[0]}`: "
                          f"{message.removeprefix('bash: ')}")
    return "; ".join(errors) or None


def _strip_options(content: str) -> tuple[str, int]:
    """A directive body without its leading `:option:` lines (or --- YAML block); returns the lines skipped."""
    lines = content.splitlines(keepends=True)
    skipped = 0
    if lines and lines[0].strip() == "---":
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
        if end is not None:
            skipped = end + 1
    else:
        while skipped < len(lines) and OPTION_LINE.match(lines[skipped].rstrip("\n")):
            skipped += 1
    return "".join(lines[skipped:]), skipped


def _fence_lang(info: str) -> tuple[str | None, str]:
    """(directive name or None, language or argument) of a fence's info string."""
    info = info.strip()
    if info.startswith("{") and "}" in info:
        return info[1:info.index("}")], info[info.index("}") + 1:].strip()
    return None, info.split()[0] if info else ""


def _blocks(text: str, path: Path, line_offset: int, section: str) -> list[Block]:
    tokens = _create_parser().parse(text)
    blocks: list[Block] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            section = tokens[index + 1].content
            continue
        if token.type not in ("fence", "colon_fence") or not token.map:
            continue
        line = line_offset + token.map[0] + 1
        directive, lang = _fence_lang(token.info)
        content = token.content
        if directive is not None:
            if directive in LITERAL_DIRECTIVES:
                continue
            body, skipped = _strip_options(content)
            if directive not in CODE_DIRECTIVES:
                blocks += _blocks(body, path, line + skipped, section)
                continue
            content, line = body, line + skipped
            lang = lang.split()[0] if lang else ""
        if lang not in COMMAND_LANGS:
            continue
        classes = str(token.attrs.get("class", "")).split()
        block = Block(path=path, line=line, lang=lang, source=content, section=section, markers=markers_of(classes),
                      eventually=EVENTUALLY in classes)
        if lang == RUNNABLE_LANG:
            block.commands, block.problem = split_commands(content, line + 1)
            block.syntax_error = bash_syntax_error(block.commands)
        else:
            block.problem = f"a `{lang}` block cannot be run: write it as `console` with `$ ` prompts, or mark it"
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is not None and following.type == "fence" and _fence_lang(following.info) == (None, OUTPUT_LANG):
            block.expected = following.content
        blocks.append(block)
    return blocks


def read_page(path: Path, level: int | None = None) -> Page:
    """The command blocks of one page, after the same {{ KEY }} substitution as the site."""
    text = substitute_versions(path.read_text())
    return Page(path=path, level=level, blocks=_blocks(text, path, 0, ""))


def lab_pages(levels: list[int] | None = None) -> list[Page]:
    """Every level page that exists, in level order (optionally only the given levels)."""
    from workshop.levels import LEVELS

    pages = []
    for level in LEVELS:
        path = level.folder / "README.md"
        if path.is_file() and (levels is None or level.number in levels):
            pages.append(read_page(path, level.number))
    return pages
