"""Importable helpers for tests/test_reliability_ingest.py that run in other processes."""

from __future__ import annotations

import time


def slow_prepare_days(folders: object, lang: str) -> list:
    """Stands in for ``archive.prepare.prepare_days``: a parser process busy for minutes."""
    time.sleep(600)
    return []
