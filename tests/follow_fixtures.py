"""Helpers for the follow-mode tests: a temporary archive made of real day folders of
../shared/data, new days that "arrive" later, an old day edited in place, and git work trees.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

from tests.conftest import shared_archive


def day_dir(root: Path, day: dt.date) -> Path:
    return root / "news" / f"{day.year}" / f"{day.month:02d}" / f"{day.day}"


def copy_days(archive: str, root: Path, days: list[dt.date]) -> Path:
    """Copy these day folders of the shared archive ``archive`` into ``root``."""
    source = shared_archive(archive)
    for day in days:
        target = day_dir(root, day)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(day_dir(source, day), target)
    return root


def edit_day(root: Path, day: dt.date) -> str:
    """Change the summary line of the first event of a day page (its content changes, its
    slug does not: an edit, not a new event). Returns the new text."""
    index = day_dir(root, day) / "index.md"
    lines = index.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if line.startswith("### [") and n + 1 < len(lines):
            lines[n + 1] = "Edited summary: the figures were revised by officials."
            break
    else:
        raise AssertionError(f"no event line in {index}")
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines[n + 1]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def make_work_tree(root: Path, remote: Path | str) -> None:
    """Make ``root`` a git work tree whose branch tracks ``origin/main`` at ``remote``."""
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "archive")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "config", "branch.main.remote", "origin")
    git(root, "config", "branch.main.merge", "refs/heads/main")
