"""Follow mode: keep the store and the vector index in line with an archive that grows.

One pass (``follow_pass``):

1. **Pull.** If the archive folder is a git work tree, run ``[archive] pull_command`` (by
   default ``git pull --ff-only``) there as a subprocess with ``pull_timeout``. A pull that
   fails or times out is logged with its reason and the pass goes on with what is on disk; a
   plain folder is simply read again.
2. **Ingest.** ``archive.ingest.ingest``: only day folders whose files changed are read.
3. **Index.** When the ingest changed anything (or the caller says the index is stale), the
   ``refresh_index`` callback brings the vector index in line; in the bot that is
   ``Searcher.refresh``, which builds the new index aside and swaps it in one assignment.

``dateline follow`` runs passes in a loop without the bot, ``dateline sync-archive`` runs one,
and the bot's feeds cog runs one every ``follow_interval``. No discord here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from archive.ingest import IngestReport, ingest
from archive.settings import ArchiveSettings
from archive.store import Store
from embeddings.indexing import IndexReport

log = logging.getLogger(__name__)

RefreshIndex = Callable[[], Awaitable[IndexReport | None]]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_interval(text: str) -> float | None:
    """Seconds of ``"90s"``, ``"15m"``, ``"1h"`` (a bare number is seconds); None when off
    (``""`` or ``"0"``). Raises ValueError for anything else."""
    if not text.strip() or text.strip() in ("0", "off"):
        return None
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not an interval (like 90s, 15m or 1h): {text!r}")
    seconds = float(match[1]) * _UNITS[(match[2] or "s").lower()]
    if seconds < 1:
        raise ValueError(f"an interval must be at least 1 second: {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class PullResult:
    ran: bool  # False for a plain folder (not a git work tree)
    ok: bool
    detail: str  # the reason of a failure, or git's last line


@dataclass(frozen=True)
class PassReport:
    pull: PullResult
    ingest: IngestReport
    index: IndexReport | None  # None when the index was not touched
    created: tuple[int, ...]  # ids of the events this pass's ingest created
    # Seconds per phase: "pull", "ingest", "index" (embedding and saving), "total".
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the log."""
        report = self.ingest
        pull = "pull skipped (not a git work tree)"
        if self.pull.ran:
            pull = "pulled" if self.pull.ok else f"pull FAILED ({self.pull.detail})"
        index = "index unchanged"
        if self.index is not None:
            index = f"index {self.index.total} events ({self.index.embedded} embedded)"
        return (
            f"follow pass [{report.lang}]: {pull}; {report.new} new, {report.updated} updated,"
            f" {report.removed} removed events ({report.days - report.days_unchanged} day"
            f" folders read, {len(report.skipped)} pages skipped); {index};"
            f" {self.timings.get('total', 0.0):.2f} s"
        )


def is_git_work_tree(path: Path) -> bool:
    """A clone's root holds ``.git`` (a folder, or a file for a linked work tree)."""
    return (path / ".git").exists()


async def pull_archive(path: Path, command: str, seconds: float) -> PullResult:
    """Run ``command`` in ``path`` if it is a git work tree; never raises for a failed pull."""
    if not is_git_work_tree(path):
        return PullResult(False, True, "")
    argv = shlex.split(command)
    if not argv:
        return PullResult(False, True, "no pull command")
    # Never wait for a password prompt: a follow loop has nobody to type it.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        return PullResult(True, False, f"can't run {argv[0]!r}: {exc}")
    try:
        out, err = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return PullResult(True, False, f"timed out after {seconds:g} s")
    text = (err or b"").decode("utf-8", "replace").strip() or (out or b"").decode(
        "utf-8", "replace"
    ).strip()
    lines = text.splitlines()
    # git's reason is its "fatal:" / "error:" line; otherwise its last word on the matter.
    reasons = [line for line in lines if line.startswith(("fatal:", "error:"))]
    last = (reasons or lines or [""])[0 if reasons else -1]
    if process.returncode != 0:
        return PullResult(True, False, f"exit status {process.returncode}: {last[:300]}")
    return PullResult(True, True, last[:300])


async def follow_pass(
    archive: ArchiveSettings,
    store: Store,
    *,
    refresh_index: RefreshIndex | None = None,
    index_stale: bool = False,
    path: Path | None = None,
    lang: str | None = None,
) -> PassReport:
    """Pull, ingest what changed, and update the index if anything did (see the module doc).

    ``index_stale`` forces the index update even when this ingest changed nothing (the store
    was changed by another process since the index was last brought in line)."""
    started = time.perf_counter()
    folder = path or archive.path
    pull = await pull_archive(folder, archive.pull_command, archive.pull_timeout)
    if pull.ran and not pull.ok:
        log.warning("git pull in %s failed: %s; reading what is on disk", folder, pull.detail)
    pulled = time.perf_counter()
    report = await ingest(store, folder, lang=lang, default_lang=archive.default_lang)
    ingested = time.perf_counter()
    index: IndexReport | None = None
    if refresh_index is not None and (report.changed or index_stale):
        log.info("follow: %d new, %d updated, %d removed; updating the index",
                 report.new, report.updated, report.removed)  # fmt: skip
        index = await refresh_index()
    done = time.perf_counter()
    timings = {
        "pull": pulled - started,
        "ingest": ingested - pulled,
        "index": done - ingested,
        "total": done - started,
    }
    result = PassReport(pull, report, index, tuple(report.created), timings)
    log.info("%s", result.summary())
    return result
