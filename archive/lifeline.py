"""Parser processes die with the ingest that started them (issue 13: orphans after kill -9).

Ingest's parser processes are forked by multiprocessing's fork server, not by the ingest
itself, and each holds the pipe that keeps the fork server alive: when the ingest is killed,
neither notices (they used to live on for many minutes, busy parsing or waiting for work).
So each parser watches the ingest's process directly: a thread waits on a pidfd of it (Linux
5.3+) or else polls it every second, and ends this process the moment it is gone. Their
parent, the fork server, then sees its pipe close and exits too.
Kept apart from ``archive.ingest`` so the parser processes import no database driver.
"""

from __future__ import annotations

import os
import select
import threading
import time

from archive.prepare import parser_process_started

POLL_SECONDS = 1.0


def die_with(pid: int) -> None:
    """End this process as soon as process ``pid`` ends (at once if it already has)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # not Linux, or an old kernel
        pidfd = None
    threading.Thread(target=_watch, args=(pid, pidfd), daemon=True, name="lifeline").start()


def _watch(pid: int, pidfd: int | None) -> None:
    if pidfd is not None:
        select.select([pidfd], [], [])  # readable when the process has ended
        os._exit(1)
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass  # alive, owned by someone else (cannot happen for our parent; be safe)
        time.sleep(POLL_SECONDS)


def parser_started(ingest_pid: int) -> None:
    """Initializer of ingest's parser processes: ``ingest_pid`` is the ingest's process."""
    die_with(ingest_pid)
    parser_process_started()
