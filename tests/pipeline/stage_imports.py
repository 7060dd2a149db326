"""Which project modules a DVC stage runs: the imports of its notebook or of its command's function.

Static analysis with `ast`: a module's imports are all of its ``cryoprotect`` imports, at module
level and inside functions (a lazy import runs when the function does), followed transitively,
with every parent package's ``__init__`` (importing a module runs them). A command stage starts
from the function behind its ``cryoprotect ...`` command: the module-level names it uses and its
own imports.
"""

from __future__ import annotations

import ast
import json
import shlex
from pathlib import Path

import typer

SRC = Path(__file__).resolve().parents[2] / "src"


def module_file(name: str) -> Path | None:
    """The source file of module ``name`` under src/, or None when it is not a project module."""
    path = SRC.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _imported(node: ast.AST, package: str) -> dict[str, str]:
    """Map each name bound by an import statement to the project module it brings in."""
    bound: dict[str, str] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            bound[alias.asname or alias.name.split(".")[0]] = alias.name
    elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join([*base, module] if module else base)
        for alias in node.names:
            submodule = f"{module}.{alias.name}"
            bound[alias.asname or alias.name] = submodule if module_file(submodule) else module
    return {name: module for name, module in bound.items() if module.startswith("cryoprotect")}


def _with_parents(modules: set[str]) -> set[str]:
    parts = {".".join(m.split(".")[:i]) for m in modules for i in range(1, m.count(".") + 2)}
    return {m for m in parts if module_file(m)}


def _package(name: str) -> str:
    path = module_file(name)
    return name if path is not None and path.name == "__init__.py" else name.rpartition(".")[0]


def module_imports(name: str) -> set[str]:
    """The project modules module ``name`` imports anywhere in its body."""
    tree = ast.parse(module_file(name).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        found.update(_imported(node, _package(name)).values())
    return _with_parents(found)


def closure(entries: set[str]) -> set[str]:
    """``entries`` and every project module they import, transitively."""
    seen: set[str] = set()
    todo = list(_with_parents(entries))
    while todo:
        name = todo.pop()
        if name not in seen and module_file(name):
            seen.add(name)
            todo.extend(module_imports(name))
    return seen


def notebook_imports(path: Path) -> set[str]:
    """The project modules a notebook's code cells import."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found: set[str] = set()
    for cell in cells:
        if cell["cell_type"] == "code":
            lines = "".join(cell["source"]).splitlines()
            tree = ast.parse("\n".join(x for x in lines if not x.lstrip().startswith(("%", "!"))))
            for node in ast.walk(tree):
                found.update(_imported(node, "cryoprotect").values())
    return found


def command_imports(words: list[str]) -> tuple[str, set[str]]:
    """The module defining the function behind ``cryoprotect WORDS...``, and the modules it uses."""
    from cryoprotect.cli.main import app

    command = typer.main.get_command(app)
    for word in words:
        if not hasattr(command, "commands") or word not in command.commands:
            break
        command = command.commands[word]
    function = command.callback
    module = function.__module__
    tree = ast.parse(module_file(module).read_text(encoding="utf-8"))
    bound: dict[str, str] = {}
    for node in tree.body:
        bound.update(_imported(node, _package(module)))
    definition = next(
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == function.__name__
    )
    found: set[str] = set()
    for node in ast.walk(definition):
        if isinstance(node, ast.Name) and node.id in bound:
            found.add(bound[node.id])
        found.update(_imported(node, _package(module)).values())
    return module, found


def stage_modules(cmd: str, root: Path) -> set[str]:
    """The project modules a stage's command line runs: its notebooks' and commands' code."""
    entries: set[str] = set()
    command_modules: set[str] = set()
    for part in cmd.split("&&"):
        words = shlex.split(part)
        notebooks = [w for w in words if w.startswith("notebooks/") and w.endswith(".ipynb")]
        for notebook in notebooks[:1]:
            entries |= notebook_imports(root / notebook)
        if words and words[0] == "cryoprotect":
            module, used = command_imports([w for w in words[1:] if not w.startswith("-")][:2])
            command_modules.add(module)
            entries |= used
    return closure(entries) | _with_parents(command_modules)
