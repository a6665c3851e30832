"""Importable helpers for tests/test_reliability_ingest.py that run in other processes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

# The folder where a stand-in parser process says it is running (one file per process).
READY_DIR = "DATELINE_TEST_READY_DIR"


def slow_prepare_days(folders: object, lang: str) -> list:
    """Stands in for ``archive.prepare.prepare_days``: a parser process that says it is
    running, then stays busy until it is killed."""
    ready = os.environ.get(READY_DIR)
    if ready:
        (Path(ready) / str(os.getpid())).touch()
    threading.Event().wait()
    return []
