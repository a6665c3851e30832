"""The bot's settings slice (``[bot]``), composed into ``dateline.config.Settings``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BotSettings:
    # Guild to sync commands to instantly while developing (0: none, sync globally).
    dev_guild_id: int = 0
    default_post_time: str = "09:00"
    default_timezone: str = "UTC"
    # Tries per server for a daily post before giving up for the day.
    post_retries: int = 3
    preview_host: str = "127.0.0.1"
    preview_port: int = 8765
