"""Dependencies point one way: archive <- embeddings <- bot <- dateline, and only bot/
imports discord. Read from every module's import statements (ast), so a violation anywhere
in a package fails here, whether or not a test happens to import that module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# package -> the Dateline packages it must not import
FORBIDDEN = {
    "archive": {"embeddings", "bot", "dateline"},
    "embeddings": {"bot", "dateline"},
    "bot": {"dateline"},
}
ONLY_BOT_IMPORTS = {"discord"}
CHECKED = ("archive", "embeddings", "bot", "dateline", "bench", "tests")


def imported_roots(source: str) -> set[str]:
    """The top-level package of every module ``source`` imports (absolute imports)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def violations(repo: Path) -> list[str]:
    found: list[str] = []
    for package in CHECKED:
        for path in sorted((repo / package).rglob("*.py")):
            roots = imported_roots(path.read_text(encoding="utf-8"))
            name = path.relative_to(repo).as_posix()
            for root in sorted(roots & FORBIDDEN.get(package, set())):
                found.append(f"{name} imports {root} (a layer above {package})")
            if package not in ("bot", "tests"):
                for root in sorted(roots & ONLY_BOT_IMPORTS):
                    found.append(f"{name} imports {root} (only bot/ may)")
    return found


def test_lower_layers_never_import_higher_ones() -> None:
    assert violations(REPO) == []


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("archive/extra.py", "from embeddings.search import Searcher"),
        ("archive/extra.py", "import bot.state"),
        ("embeddings/extra.py", "from dateline.config import Settings"),
        ("bot/extra.py", "import dateline.config"),
        ("embeddings/extra.py", "import discord"),
        ("dateline/extra.py", "from discord.ext import commands"),
    ],
)
def test_a_violation_is_caught(tmp_path: Path, module: str, line: str) -> None:
    for package in CHECKED:
        (tmp_path / package).mkdir()
    (tmp_path / module).write_text(f"def f():\n    {line}\n", encoding="utf-8")
    assert len(violations(tmp_path)) == 1
