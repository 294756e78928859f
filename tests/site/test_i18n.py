"""The Japanese edition: the site in _build/html/ja/ built strictly from the same sources, a
switcher on every page that lands on the same page in the other language, catalogs current and
complete, the glossary kept, and the `workshop` command speaking Japanese (WORKSHOP_LANG=ja)
while its JSON keeps the English ids and titles."""

import ast
import json
import os
import posixpath
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from workshop import i18n, i18n_catalogs
from workshop.grading.plugin import load_yaml_checks
from workshop.grading.render import render_text
from workshop.grading.results import FAILED, PASSED, SKIPPED, CheckResult, RunResult

REPO_ROOT = Path(__file__).resolve().parents[2]
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
GLOSSARY = yaml.safe_load((REPO_ROOT / "locales" / "ja" / "glossary.yaml").read_text())["terms"]


def catalogs() -> list[Path]:
    return sorted((REPO_ROOT / "locales" / "ja" / "LC_MESSAGES").rglob("*.po")) + [i18n_catalogs.WORKSHOP_CATALOG]


def translated_pages() -> list[str]:
    return i18n_catalogs.translated_pages()


# -- The site --------------------------------------------------------------------------------

class Switcher(HTMLParser):
    """The language switcher's links of one page, and its <html lang>."""

    def __init__(self):
        super().__init__()
        self.links: dict[str, str] = {}
        self.lang = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang", "")
        if tag == "a" and "language-link" in (attrs.get("class") or ""):
            self.links[attrs["hreflang"]] = attrs["href"]


def switcher_of(page: Path) -> Switcher:
    parser = Switcher()
    parser.feed(page.read_text())
    return parser


def test_every_page_links_to_the_same_page_in_the_other_language(built_site: Path, built_site_ja: Path):
    english = sorted(path.relative_to(built_site).as_posix() for path in built_site.rglob("*.html")
                     if not path.is_relative_to(built_site_ja))
    japanese = sorted(path.relative_to(built_site_ja).as_posix() for path in built_site_ja.rglob("*.html"))
    assert english == japanese, "the two sites do not have the same pages"
    checked = 0
    for page in english:
        if 'http-equiv="refresh"' in (built_site / page).read_text():
            continue  # the site root only redirects to the landing page
        for root, other, prefix in ((built_site, "ja", ""), (built_site_ja, "en", "ja/")):
            switcher = switcher_of(root / page)
            href = switcher.links.get(other)
            assert href, f"{prefix}{page}: no link to the {other} page"
            target = posixpath.normpath(posixpath.join(posixpath.dirname(prefix + page), href))
            assert target == (page if other == "en" else "ja/" + page), f"{prefix}{page}: {href} is not the same page"
            assert (built_site / target).is_file(), f"{prefix}{page}: {href} does not exist"
            checked += 1
    assert checked >= 2 * 16


def test_the_landing_page_offers_both_languages(built_site: Path, built_site_ja: Path):
    english, japanese = switcher_of(built_site / "docs" / "index.html"), switcher_of(built_site_ja / "docs" / "index.html")
    assert (english.lang, japanese.lang) == ("en", "ja")
    assert english.links == {"ja": "../ja/docs/index.html"} and japanese.links == {"en": "../../docs/index.html"}
    assert 'url=docs/index.html' in (built_site_ja / "index.html").read_text()


def test_the_japanese_site_is_in_japanese_and_loads_nothing_from_other_hosts(built_site_ja: Path):
    from test_site_build import external_resources

    landing = (built_site_ja / "docs" / "index.html").read_text()
    assert "レベルマップ" in landing and "Kubernetesで学ぶマイクロサービス" in landing
    assert external_resources(built_site_ja) == []


def test_substitutions_and_included_files_are_translated_too(built_site_ja: Path):
    from workshop.versions import all_versions

    landing = (built_site_ja / "docs" / "index.html").read_text()
    assert f"istioctl {all_versions()['ISTIO_VERSION']}" in landing  # {{ ISTIO_VERSION }} in a translated paragraph
    assert "メモリー8GBのPC" in landing  # labs/00-setup/laptop-summary.md, included


class Prose(HTMLParser):
    """Paragraphs of a page's body, without code, as a reader sees them."""

    def __init__(self):
        super().__init__()
        self.paragraphs: list[str] = []
        self.depth = {"body": 0, "code": 0}
        self.current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("itemprop") == "articleBody":
            self.depth["body"] = 1
        elif self.depth["body"] and tag == "div":
            self.depth["body"] += 1
        if tag in ("code", "pre", "svg"):
            self.depth["code"] += 1
        if tag == "p" and self.depth["body"]:
            self.current = []

    def handle_endtag(self, tag):
        if tag in ("code", "pre", "svg"):
            self.depth["code"] -= 1
        if self.depth["body"] and tag == "div":
            self.depth["body"] -= 1
        if tag == "p" and self.current is not None:
            self.paragraphs.append(" ".join("".join(self.current).split()))
            self.current = None

    def handle_data(self, data):
        if self.current is not None and not self.depth["code"]:
            self.current.append(data)


def english_paragraphs(html: str) -> list[str]:
    """Paragraphs with four English words or more and no Japanese at all."""
    parser = Prose()
    parser.feed(html)
    return [text for text in parser.paragraphs
            if not JAPANESE.search(text) and len(re.findall(r"[A-Za-z]{2,}", text)) >= 4]


@pytest.mark.parametrize("page", translated_pages())
def test_a_translated_page_holds_no_english_paragraph(built_site_ja: Path, page: str):
    assert english_paragraphs((built_site_ja / f"{page}.html").read_text()) == []


def test_the_english_paragraph_finder_finds_one():
    html = ('<div itemprop="articleBody"><p>これは日本語です。</p><p>Run <code>make lab-1</code> to start '
            'the level now.</p><p><code>kubectl get pods -n workshop</code></p></div>')
    assert english_paragraphs(html) == ["Run to start the level now."]


# -- The catalogs ------------------------------------------------------------------------------

def test_every_catalog_is_current_and_fully_translated():
    """A source string changed without `make intl-update`, a fuzzy or an untranslated entry fails;
    the check ends with the coverage summary line `make i18n-coverage` ends with."""
    done = subprocess.run([sys.executable, "-m", "workshop.i18n_catalogs", "check"], capture_output=True, text=True,
                          timeout=600, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"i18n-coverage: pages=\d+ translated_pages=\d+ messages=\d+ translated=\d+ percent=[\d.]+",
                        last), last


def test_the_catalog_check_reports_stale_fuzzy_untranslated_and_obsolete_entries():
    catalog = Catalog(locale="ja")
    catalog.add("Old English", "古い英語")
    catalog.add("Fuzzy", "あいまい", flags=["fuzzy"])
    catalog.add("Untranslated", "")
    status = i18n_catalogs.compare("page", ["New English", "Fuzzy", "Untranslated"], catalog)
    kinds = sorted(problem.split(":")[1].strip().split(" ")[0] for problem in status.problems)
    assert kinds == ["fuzzy", "not", "obsolete", "untranslated"], status.problems
    assert status.translated == 0


def test_figures_with_nothing_to_translate_never_make_a_catalog_stale():
    catalog = Catalog(locale="ja")
    catalog.add("320 MiB", "320 MiB")
    catalog.add("30 min", "30分")
    status = i18n_catalogs.compare("page", ["336 MiB", "0.27", "6*", "—", "30 min"], catalog)
    assert status.problems == [] and status.translated == 5
    assert not i18n_catalogs.untranslatable("2 h") and not i18n_catalogs.untranslatable("no cluster")


def glossary_problems(msgid: str, msgstr: str) -> list[str]:
    problems = []
    for term in GLOSSARY:
        for pattern in term.get("not", []):
            if re.search(pattern, msgstr):
                problems.append(f"{term['en']} is {term['ja']}, not {pattern!r}: {msgstr[:60]}")
        if term.get("keep") and re.search(rf"\b{re.escape(term['en'])}\b", msgid) and term["en"] not in msgstr:
            problems.append(f"{term['en']} stays {term['ja']}: {msgstr[:60]}")
    return problems


@pytest.mark.parametrize("path", catalogs(), ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_translations_follow_the_glossary(path: Path):
    with path.open("rb") as source:
        catalog = read_po(source, locale="ja")
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        for msgstr in (message.string if isinstance(message.string, tuple) else (message.string,)):
            problems += glossary_problems(msgid, msgstr)
    assert problems == []


def test_the_glossary_check_flags_a_term_translated_against_it():
    assert glossary_problems("Every Pod of the cluster", "クラスタのすべてのポッド") == [
        "Pod is Pod, not 'ポッド': クラスタのすべてのポッド", "Pod stays Pod: クラスタのすべてのポッド",
        "cluster is クラスター, not 'クラスタ(?!ー)': クラスタのすべてのポッド"]
    assert glossary_problems("Every Pod of the cluster", "クラスターのすべてのPod") == []


# -- The workshop command ---------------------------------------------------------------------

@pytest.mark.parametrize("env, expected", [
    ({"WORKSHOP_LANG": "ja"}, "ja"), ({"LANG": "ja_JP.UTF-8"}, "ja"), ({"LC_ALL": "ja_JP.UTF-8", "LANG": "C"}, "ja"),
    ({"LANG": "en_US.UTF-8"}, "en"), ({"WORKSHOP_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"), ({}, "en"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),
])
def test_the_language_comes_from_workshop_lang_then_the_locale(env, expected):
    assert i18n.language(env) == expected


def literal(value: ast.expr, constants: dict[str, str]):
    """A string a check declares: a literal, N_(literal), or a module constant holding one."""
    if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "N_":
        value = value.args[0]
    if isinstance(value, ast.Name):
        return constants.get(value.id)
    return value.value if isinstance(value, ast.Constant) else None


def declared_checks(level: int) -> list[dict]:
    """The checks a level declares, read without importing them: the @check(...) of its Python
    files (a title built at import time, an f-string, is left out) and its YAML checks."""
    found = []
    for path in sorted((REPO_ROOT / "labs").glob(f"0{level}-*/checks/check_*.py")):
        tree = ast.parse(path.read_text())
        constants = {target.id: text for node in tree.body if isinstance(node, ast.Assign)
                     for target in node.targets if isinstance(target, ast.Name)
                     if isinstance(text := literal(node.value, {}), str)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
                fields = {keyword.arg: literal(keyword.value, constants) for keyword in node.keywords}
                fields = {name: value for name, value in fields.items() if value is not None}
                if "title" in fields:
                    found.append(fields)
    for path in sorted((REPO_ROOT / "labs").glob(f"0{level}-*/checks/check_*.yaml")):
        found += load_yaml_checks(path.read_text())
    return found


def level_result(level: int, title: str, status: str) -> RunResult:
    """A run of a level's real checks (their titles and hints as declared), all with one status."""
    result = RunResult(level=level, title=title, context="kind-workshop", server="https://127.0.0.1:6443")
    for fields in declared_checks(level):
        points = fields.get("points", 1)
        result.checks.append(CheckResult(id=fields["id"], title=fields["title"], status=status, points=points,
                                         earned=points if status == PASSED else 0, hint=fields["hint"],
                                         docs=fields.get("docs", "")))
    assert len(result.checks) >= 4
    return result


def japanese(monkeypatch) -> None:
    monkeypatch.setenv("WORKSHOP_LANG", "ja")


def test_a_passing_level_is_reported_in_japanese(monkeypatch):
    japanese(monkeypatch)
    text = render_text(level_result(6, "Serverless with Knative", PASSED))
    assert text.splitlines()[0] == ("レベル6(Knativeによるサーバーレス)をコンテキストkind-workshop"
                                    "(https://127.0.0.1:6443)で採点します")
    assert "l6-ready KnativeのService invoiceがReady" in text
    assert "レベル6は完了です。次はレベル7です: make lab-7" in text
    assert re.search(r"スコア: (\d+)/\1点、(\d+)件中\2件のチェックに合格。", text), text


def test_a_failing_level_is_reported_in_japanese_with_the_hint_first(monkeypatch):
    japanese(monkeypatch)
    from workshop.grading.plugin import NEEDS_REAL_CLUSTER

    result = level_result(6, "Serverless with Knative", FAILED)
    result.checks[0].status, result.checks[0].message = SKIPPED, NEEDS_REAL_CLUSTER
    text = render_text(result)
    assert "スキップ: 実クラスターが必要です" in text
    assert "ヒント: " in text and "次にやること: " in text and "もう一度make check-6を実行してください" in text
    assert "(うち1件は実クラスターが必要)" in text
    monkeypatch.setenv("WORKSHOP_LANG", "en")
    english = render_text(result)
    assert not JAPANESE.search(english), "the English report holds Japanese"


LEVELS_WITH_CHECKS = sorted(int(path.parent.name[:2]) for path in (REPO_ROOT / "labs").glob("0*/checks")
                            if any(path.glob("check_*")))


@pytest.mark.parametrize("level", LEVELS_WITH_CHECKS)
def test_every_check_title_and_hint_has_a_japanese_translation(monkeypatch, level: int):
    """A title or hint left unmarked (no N_()) or untranslated prints English in a Japanese report."""
    japanese(monkeypatch)
    checks = declared_checks(level)
    assert len(checks) >= 4
    english = [f"{fields['id']} {kind}: {fields[kind][:60]}" for fields in checks for kind in ("title", "hint")
               if not JAPANESE.search(i18n._(fields[kind]))]
    assert english == []


def test_level_5_is_reported_in_japanese_passing_and_failing(monkeypatch):
    japanese(monkeypatch)
    passing = render_text(level_result(5, "Service mesh with Istio", PASSED))
    assert passing.splitlines()[0].startswith("レベル5(Istioによるサービスメッシュ)をコンテキストkind-workshop")
    assert "✓ l5-mtls-strict Namespace workshopの相互TLSがSTRICTで、除外されたワークロードがない" in passing
    assert "レベル5は完了です。次はレベル6です: make lab-6" in passing
    failing = render_text(level_result(5, "Service mesh with Istio", FAILED))
    assert "✗ l5-injection-label Namespace workshopにサイドカー注入のラベルが付いている" in failing
    assert "ヒント: Namespaceにラベルを付けてください: kubectl label namespace workshop istio-injection=enabled" in failing
    assert "ヒント: PeerAuthenticationは、作成されたNamespaceに適用されます。" in failing
    assert "もう一度make check-5を実行してください" in failing
    monkeypatch.setenv("WORKSHOP_LANG", "en")
    assert not JAPANESE.search(render_text(level_result(5, "Service mesh with Istio", FAILED)))


def workshop(*args: str, lang: str = "ja") -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKSHOP_LANG": lang, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "workshop.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=REPO_ROOT)


def test_a_real_check_run_prints_japanese_and_keeps_english_ids_in_json(tmp_path: Path):
    """Level 1's real checks on this machine's container engine: whatever they find, the report
    is Japanese and the JSON and JUnit keep the English ids and titles."""
    report, junit = tmp_path / "level1.json", tmp_path / "level1.xml"
    # The two checks that read the engine at once (no retry window): fast whatever runs here.
    done = workshop("check", "1", "-k", "l1-images or l1-non-root", "--no-keep", "--json", str(report),
                    "--junit", str(junit))
    if done.returncode == 2 and not report.exists():
        pytest.skip(f"no container engine answers here: {done.stdout}{done.stderr}")
    assert "Traceback" not in done.stdout + done.stderr
    data = json.loads(report.read_text())
    titles = {item["id"]: item["title"] for item in data["checks"]}
    if data["cannot_check"]:  # no engine: the Japanese says so, the JSON stays English
        assert "このレベルをチェックできませんでした" in done.stdout
        return
    assert titles["l1-images"] == "the four images are built, with their labels"
    assert "l1-images 4つのイメージがラベル付きでビルドされている" in done.stdout
    assert "スコア: " in done.stdout
    assert not JAPANESE.search(report.read_text() + junit.read_text())


def test_doctor_usage_and_lab_script_messages_speak_japanese(tmp_path: Path):
    assert "使い方: workshop COMMAND" in workshop("help").stdout
    doctor = workshop("doctor", "--no-cluster")
    assert "準備完了です。" in doctor.stdout or "修正が必要な問題が" in doctor.stdout, doctor.stdout
    said = subprocess.run([str(REPO_ROOT / "scripts" / "lab.sh"), "undo", "1"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "WORKSHOP_LANG": "ja"}, cwd=REPO_ROOT)
    assert said.returncode == 2 and "不明なアクション'undo'です" in said.stderr, said.stderr


# -- The lab scripts' messages ---------------------------------------------------------------

LAB_SCRIPTS = [REPO_ROOT / "scripts" / "lab.sh", *sorted((REPO_ROOT / "scripts" / "lib").glob("*.sh")),
               *sorted(REPO_ROOT.glob("labs/*/lab.sh"))]
# Lines of those scripts that print English prose without `say`, on purpose: none today. An entry
# is "path: the line, stripped", with a comment saying why it must stay raw. A line that prints a
# value (a URL, a name, command output) has no prose and needs no entry.
RAW_PROSE: set[str] = set()
PRINTS = re.compile(r"""(?:^|[;&|{()]|\bthen|\belse|\bdo)\s*(?:log|echo)\s+(["'].*)""")
THROUGH_SAY = re.compile(r"""^"\s*\$\(say\s""")
TWO_WORDS = re.compile(r"[A-Za-z]{2,}[,.:;!?']*\s+\(?[A-Za-z]{2,}")


def without_expansions(text: str) -> str:
    """``text`` without its $(...), ${...} and $NAME: what is left is what the script wrote out."""
    out, index = [], 0
    while index < len(text):
        if text.startswith(("$(", "${"), index):
            opening = text[index + 1]
            closing, depth, index = {"(": ")", "{": "}"}[opening], 1, index + 2
            while index < len(text) and depth:  # nested: "$(context_of "$(other)")"
                depth += {opening: 1, closing: -1}.get(text[index], 0)
                index += 1
            continue
        name = re.match(r"\$(?:[A-Za-z_]\w*|[0-9*@#?])", text[index:])
        if name:
            index += name.end()
            continue
        out.append(text[index])
        index += 1
    return "".join(out)


def arguments(text: str) -> str:
    """The start of ``text`` up to the end of its command (; | & > or a closing parenthesis,
    outside quotes and $(...)): the words log or echo prints."""
    stack, index = [], 0
    while index < len(text):
        char, top = text[index], stack[-1] if stack else None
        if top == "'":
            if char == "'":
                stack.pop()
        elif char == "\\":
            index += 1
        elif top == '"':
            if char == '"':
                stack.pop()
            elif text.startswith("$(", index):
                stack.append("$(")
                index += 1
        elif char in "\"'":
            stack.append(char)
        elif char == "(":
            stack.append(char)
        elif char == ")":
            if not stack:
                break
            stack.pop()
        elif top is None and char in ";|&>":
            break
        index += 1
    return text[:index]


def raw_prose(path: Path, root: Path = REPO_ROOT) -> list[str]:
    """The logical lines of ``path`` that print English prose with log/echo, not through say."""
    found, pending = [], ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):  # a command continued on the next line is one line
            pending += line[:-1] + " "
            continue
        logical, pending = (pending + line).strip(), ""
        for match in PRINTS.finditer(logical):
            printed = arguments(match.group(1))
            if not THROUGH_SAY.match(printed) and TWO_WORDS.search(without_expansions(printed)):
                found.append(f"{path.relative_to(root)}: {logical}")
    return found


def test_every_message_of_the_lab_scripts_goes_through_say():
    """labs/*/lab.sh and scripts/lib/*.sh print their one-line messages as log "$(say '...' name=value)",
    so the catalog has them and a Japanese learner reads them in Japanese."""
    prose = [line for path in LAB_SCRIPTS for line in raw_prose(path) if line not in RAW_PROSE]
    assert prose == [], "print these through say (scripts/lib/say.sh):\n" + "\n".join(prose)


def test_the_prose_finder_finds_raw_messages_and_leaves_values_and_say_alone(tmp_path: Path):
    script = tmp_path / "lab.sh"
    script.write_text('log "Level $N is reset: namespace ${NS:-workshop} is gone."\n'
                      'log "unknown cluster \'$1\'"; exit 2\n'
                      '  log "first half of a message" \\\n      "$(version_of X)"\n'
                      'echo "https://github.com/knative/$1/releases/download/knative-v$(knative_version)/$2"\n'
                      'echo "${MANIFEST:-https://example.com/$(version_of V)/components.yaml}"\n'
                      'east) echo "$EAST_CONTEXT" ;;\n'
                      'if command -v docker >/dev/null; then echo "$name"; return; fi\n'
                      'log "$(say \'Level {n} is reset.\' n="$(level_of "$1")")"\n'
                      '# log "a comment is not printed"\n'
                      '*) log "ISTIO=${ISTIO} is not understood: use make reset-5."; exit 2 ;;\n')
    found = [line.removeprefix("lab.sh: ") for line in raw_prose(script, tmp_path)]
    assert found == ['log "Level $N is reset: namespace ${NS:-workshop} is gone."',
                     'log "unknown cluster \'$1\'"; exit 2', 'log "first half of a message"        "$(version_of X)"',
                     '*) log "ISTIO=${ISTIO} is not understood: use make reset-5."; exit 2 ;;']


def test_a_lab_script_message_speaks_japanese_or_english_exactly():
    """One converted message, through the command the lab scripts call."""
    message, field = "Level 2 is reset: namespace {namespace} is gone.", "namespace=workshop"
    ja = workshop("lab", "say", message, field, lang="ja")
    assert (ja.returncode, ja.stdout) == (0, "レベル2をリセットしました: Namespace workshopは削除されました。\n"), ja.stderr
    en = workshop("lab", "say", message, field, lang="en")
    assert (en.returncode, en.stdout) == (0, "Level 2 is reset: namespace workshop is gone.\n"), en.stderr


def test_say_fills_in_the_english_when_the_workshop_command_does_not_answer():
    program = (f'source "{REPO_ROOT / "scripts" / "lib" / "say.sh"}"; '
               "say 'Namespace {namespace} is still being deleted in {cluster}.' namespace='a&b' cluster=east")
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "WORKSHOP": "/bin/false"})
    assert done.stdout == "Namespace a&b is still being deleted in east.\n", done.stderr


def test_a_message_without_a_translation_stays_english(monkeypatch):
    japanese(monkeypatch)
    assert i18n._("a sentence no catalog has") == "a sentence no catalog has"
    assert i18n._("All set.") == "準備完了です。"


def code_blocks(html: str) -> list[str]:
    """Every code block of a page's body, as the copy button and the page runner see them."""
    body = html[html.index('itemprop="articleBody"'):]
    return re.findall(r'<div class="[^"]*highlight-(\w+)[^"]*"><div class="highlight"><pre>(.*?)</pre>', body, re.S)


@pytest.mark.parametrize("page", translated_pages())
def test_a_japanese_page_has_the_same_commands_manifests_and_output_as_the_english_one(
        built_site: Path, built_site_ja: Path, page: str):
    """Code blocks are not in the catalogs: the page runner's commands are the English page's."""
    english = code_blocks((built_site / f"{page}.html").read_text())
    assert english == code_blocks((built_site_ja / f"{page}.html").read_text())
    assert english or page.startswith("docs/"), f"{page}: no code block found (did the theme's markup change?)"
