"""The README: short, opening with what CryoProtect is, and every command and link in it real.

Every ``cryoprotect ...`` command written in the README or docs/ (shell blocks, inline code) is
resolved against the command tree the CLI really builds (typer's click commands): each
subcommand must exist, and each option must be one of that command's.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
from markdown.extensions.toc import slugify

from cryoprotect.cli.main import app

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console"}
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
OPERATORS = re.compile(r"\s(?:\|\||\||&&|;)\s")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def shell_commands(text: str) -> list[str]:
    """Return the simple commands of the shell blocks of a Markdown text, one string each."""
    commands = []
    for language, body in FENCE.findall(text):
        if language not in SHELL_BLOCKS:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            commands.extend(part.strip() for part in OPERATORS.split(f" {line} "))
    return commands


def inline_commands(text: str) -> list[str]:
    """Return the inline code spans of a Markdown text that start with ``cryoprotect ``."""
    spans = re.findall(r"`(cryoprotect [^`]+)`", text)
    return [span.replace("\\|", "|") for span in spans]


def words(command: str) -> list[str]:
    """Split a command like the shell, dropping comments, and stop at a redirection."""
    try:
        tokens = shlex.split(command, comments=True)
    except ValueError:  # an unbalanced quote in a syntax summary: split on spaces
        tokens = command.split("#")[0].split()
    kept = []
    for token in tokens:
        if token[:1] in "<>" or token.startswith("2>"):
            break
        kept.append(token)
    while kept and re.fullmatch(r"[A-Z_]+=\S*|sudo|env", kept[0]):
        kept.pop(0)
    return kept


def _options(command) -> dict[str, bool]:
    """Map each option name of a click command to whether it takes a value."""
    names = {}
    for param in command.params:
        if param.param_type_name != "option":
            continue
        takes_value = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
        for name in (*param.opts, *param.secondary_opts):
            names[name] = takes_value
    names["--help"] = False
    return names


def problems(tokens: list[str], root) -> list[str]:
    """Return what in ``cryoprotect ARGS`` the CLI does not have (empty when all exist)."""
    found = []
    nodes = [root]
    chosen = False
    i = 0
    while i < len(tokens):
        token = tokens[i].strip("[]{}")
        i += 1
        if not token or token == "...":
            continue
        alternatives = [t for t in token.split("|") if t]
        if token.startswith("-"):
            options = {}
            for node in nodes:
                options |= _options(node)
            for alternative in alternatives:
                name = alternative.split("=")[0]
                if name not in options:
                    found.append(f"no option {name} of {' / '.join(n.name for n in nodes)}")
                elif options[name] and "=" not in alternative and len(alternatives) == 1:
                    i += 1  # its value
            continue
        groups = [n for n in nodes if getattr(n, "commands", None)]
        if groups and not chosen:
            subcommands = {n: c for g in groups for n, c in g.commands.items()}
            invokable = all(g.invoke_without_command for g in groups)
            if all(a in subcommands for a in alternatives):
                nodes = [subcommands[a] for a in alternatives]
                continue
            if not invokable:
                found.append(f"no command {token!r} under {' / '.join(g.name for g in groups)}")
                break
        chosen = True  # a positional argument: no subcommand can follow
    return found


def unknown(command: str, root) -> list[str]:
    """Return what the CLI lacks of a ``cryoprotect ...`` command line (empty when all exist)."""
    return problems(words(command)[1:], root)


@pytest.fixture(scope="module")
def cli():
    return typer.main.get_command(app)


def test_the_resolver_notices_a_missing_command_and_option(cli):
    assert unknown("cryoprotect predict tg --input a.csv --output b.csv", cli) == []
    assert unknown("cryoprotect backup create|list --format json", cli) == []
    assert unknown("cryoprotect --database-url sqlite:// db stats", cli) == []
    assert unknown("cryoprotect predikt tg", cli)
    assert unknown("cryoprotect predict tg --inptu a.csv", cli)
    assert unknown("cryoprotect models list|shw", cli)
    assert unknown("cryoprotect db stats --format json --verbose", cli)


def test_readme_is_at_most_200_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines"


def test_readme_starts_with_what_cryoprotect_is_and_for_whom():
    text = README.read_text()
    assert text.startswith("# CryoProtect\n")
    before_commands = text[: text.index("```")]
    first_paragraph = before_commands.split("\n\n")[1]
    assert first_paragraph.startswith("CryoProtect is ")
    for reader in ("scientists", "reviewers", "operators"):
        assert f"**{reader}**" in before_commands, reader


def test_readme_quick_start_is_the_two_commands():
    block = FENCE.search(README.read_text()).group(2).splitlines()
    assert [line.split("#")[0].strip() for line in block] == [
        "python3 scripts/quickstart.py run",
        "python3 scripts/quickstart.py test",
    ]


def test_readme_has_the_tour_the_command_table_links_and_layout():
    text = README.read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[:2] == ["Quick start", "A five-minute tour"], headings
    assert {"Commands", "Documentation", "Layout"} <= set(headings), headings
    tour = text.split("## A five-minute tour")[1].split("\n## ")[0]
    for step in ("import experiments", "train", "predict", "screen", "dashboard", "jupyter lab"):
        assert step in tour, step
    table = text.split("## Commands")[1].split("\n## ")[0]
    listed = {m.split()[1] for m in re.findall(r"^\| `(cryoprotect \S+)", table, re.M)}
    tree = typer.main.get_command(app)
    assert listed == set(tree.commands), set(tree.commands) ^ listed


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_cryoprotect_command_written_exists_in_the_cli(path, cli):
    text = path.read_text()
    commands = [
        c for c in shell_commands(text) if words(c)[:1] and words(c)[0].endswith("cryoprotect")
    ]
    commands += inline_commands(text)
    found = {c: unknown(c, cli) for c in commands}
    assert not {c: p for c, p in found.items() if p}


def test_commands_are_found_in_the_readme_and_the_docs():
    """The check above reads what it should: the tour's and the reference's commands."""
    readme = [c for c in shell_commands(README.read_text()) if c.startswith("cryoprotect ")]
    assert "cryoprotect predict tg --input molecules.csv --output tg.csv" in readme
    backups = shell_commands((DOCS / "operations" / "backups.md").read_text())
    assert any(c.startswith("cryoprotect backup restore") for c in backups)


def test_every_relative_link_in_the_readme_resolves():
    for target in LINK.findall(README.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (README.parent / path) if path else README
        assert resolved.exists(), f"README.md links to missing {target}"
        if anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+?)\s*$", resolved.read_text(), re.M)
            anchors = {slugify(h.replace("`", ""), "-") for h in headings}
            assert anchor in anchors, f"README.md links to {target}: no such heading"
