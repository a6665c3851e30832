"""The ``dateline`` command line for operators.

Each group of commands lives in a module of ``dateline.commands`` with a ``register``
function; heavy libraries (torch, faiss, discord) are imported only by the command that
needs them, so ``dateline event`` starts fast.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from dateline.commands.common import UsageError
from dateline.config import ConfigError, load_settings

COMMAND_MODULES = (
    "dateline.commands.archive_cmds",
    "dateline.commands.search_cmds",
    "dateline.commands.bot_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dateline", description="Dateline: a Discord bot for a news-events archive."
    )
    parser.add_argument("--config", type=Path, help="TOML settings file (see config.example.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
        result = args.handler(settings, args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except (UsageError, ConfigError) as exc:
        print(f"dateline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dateline: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
