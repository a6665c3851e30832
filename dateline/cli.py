"""The ``dateline`` command line for operators.

Each group of commands lives in a module of ``dateline.commands`` with a ``register``
function; heavy libraries (torch, faiss, discord) are imported only by the command that
needs them, so ``dateline event`` starts fast.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from archive.migrations import SchemaTooNew
from archive.settings import edition_code
from archive.store import StoreError
from dateline.commands.common import UsageError
from dateline.config import ConfigError, load_settings

OWN_LOGGERS = ("archive", "embeddings", "bot", "dateline")
COMMAND_MODULES = (
    "dateline.commands.archive_cmds",
    "dateline.commands.search_cmds",
    "dateline.commands.bot_cmds",
    "dateline.commands.story_cmds",
    "dateline.commands.follow_cmds",
)


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--config", type=Path, default=default, help="TOML settings file (see config.example.toml)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="log debug messages"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dateline", description="Dateline: a Discord bot for a news-events archive."
    )
    _common_options(parser, None)
    # The same options are accepted after the command too (`dateline ingest --config f`).
    shared = argparse.ArgumentParser(add_help=False)
    _common_options(shared, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser = functools.partial(commands.add_parser, parents=[shared])  # type: ignore[method-assign]
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(commands)
    return parser


# Libraries that talk a lot at start-up: only their warnings are shown unless -v.
CHATTY_LOGGERS = ("faiss", "discord", "sentence_transformers", "httpx", "urllib3")
# Warnings that concern features Dateline doesn't use (voice), hidden unless -v.
_IRRELEVANT_WARNINGS = ("voice will NOT be supported",)


def _drop_irrelevant(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not any(text in message for text in _IRRELEVANT_WARNINGS)


def configure_logging(verbose: bool) -> None:
    """INFO for Dateline's own loggers (DEBUG with -v); quiet libraries unless -v."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.NOTSET)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    client = logging.getLogger("discord.client")
    if verbose:
        client.removeFilter(_drop_irrelevant)
    else:
        client.addFilter(_drop_irrelevant)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(bool(args.verbose))
    # A service manager stops the bot with SIGTERM: shut down as cleanly as on Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if getattr(args, "lang", None) is not None:
            try:
                edition_code(args.lang)
            except ValueError as exc:
                raise UsageError(f"--lang: {exc}") from None
        settings = load_settings(args.config)
        result = args.handler(settings, args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except (UsageError, ConfigError, StoreError, SchemaTooNew) as exc:
        # SchemaTooNew: a database written by a newer Dateline is refused, never touched.
        print(f"dateline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dateline: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`dateline event ... | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
