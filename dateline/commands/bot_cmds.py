"""``dateline run``, ``dateline preview`` and ``dateline sync``: the Discord bot."""

from __future__ import annotations

import argparse
from typing import Any

from dateline.commands.common import UsageError
from dateline.config import Settings

NO_TOKEN = (
    "DISCORD_TOKEN is not set: export your bot's token (see docs/bot.md), "
    "or try the bot without one with `dateline preview`"
)


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="connect the bot to Discord (token: DISCORD_TOKEN)")
    run.set_defaults(handler=run_bot)

    preview = commands.add_parser(
        "preview", help="try the bot on a local page, without a token (needs the preview extra)"
    )
    preview.add_argument("--port", type=int, help="port on 127.0.0.1 (default: [bot] preview_port)")
    preview.set_defaults(handler=run_preview)

    sync = commands.add_parser("sync", help="register the slash commands with Discord")
    sync.add_argument(
        "--guild",
        type=int,
        help="a server id to register in (instant); 0: globally (default: [bot] dev_guild_id)",
    )
    sync.set_defaults(handler=run_sync)


def _token(settings: Settings) -> str:
    token = settings.discord_token
    if not token:
        raise UsageError(NO_TOKEN)
    return token


async def run_bot(settings: Settings, args: argparse.Namespace) -> int:
    token = _token(settings)
    from bot.runner import StartupError, run_bot

    try:
        await run_bot(settings, token)
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    return 0


async def run_sync(settings: Settings, args: argparse.Namespace) -> int:
    token = _token(settings)
    from bot.runner import StartupError, sync_commands

    if args.guild is not None and args.guild < 0:
        raise UsageError("--guild must be a server id, or 0 for global")
    try:
        names = await sync_commands(settings, token, args.guild)
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    guild = settings.bot.dev_guild_id if args.guild is None else args.guild
    where = f"in server {guild}" if guild else "globally (may take up to an hour to show)"
    print(f"synced {len(names)} commands {where}: {', '.join(sorted(names))}")
    return 0


async def run_preview(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runner import StartupError, serve_preview

    port = settings.bot.preview_port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    try:
        await serve_preview(settings, port)
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    return 0
