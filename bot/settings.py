"""The bot's settings slice (``[bot]``), composed into ``dateline.config.Settings``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.schedule import parse_post_time, parse_timezone


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

    def __post_init__(self) -> None:
        # Checked when loaded, not at the first daily post.
        for key, parse in (
            ("default_post_time", parse_post_time),
            ("default_timezone", parse_timezone),
        ):
            try:
                parse(getattr(self, key))
            except ValueError as exc:
                raise ValueError(f"{key} {getattr(self, key)!r}: {exc}") from None
        if self.dev_guild_id < 0:
            raise ValueError("dev_guild_id must be a server id, or 0 to sync globally")
        if self.post_retries < 1:
            raise ValueError(f"post_retries must be at least 1, not {self.post_retries}")
        if not 0 <= self.preview_port <= 65535:
            raise ValueError(f"preview_port must be between 0 and 65535, not {self.preview_port}")
