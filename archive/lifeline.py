"""Parser processes die with the process that started them (issue 13: orphans after kill -9).

Ingest's parser processes are forked by multiprocessing's fork server, which exits when the
ingest's main process dies; each parser asks the kernel for SIGKILL when its parent (the fork
server) goes (Linux ``PR_SET_PDEATHSIG``). Elsewhere a thread watches the parent's pid.
Kept apart from ``archive.ingest`` so the parser processes import no database driver.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

from archive.prepare import parser_process_started

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Make this process exit as soon as its parent does."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # it died before the request was made
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="lifeline").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def parser_started() -> None:
    """Initializer of ingest's parser processes."""
    die_with_parent()
    parser_process_started()
