"""The Discord bot. The only package of Dateline that imports discord."""

from bot.client import DatelineBot, create_bot

__all__ = ["DatelineBot", "create_bot"]
