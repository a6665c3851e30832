"""The command tree's one error handler.

A user's mistake (a bad date, a time like 25:00) is not an error: the command answers it with
a private reply and returns, so it never reaches this handler (nor counts as a failure in
SimCord's preview). What does reach it: checks discord.py runs before the command (missing
permissions, cooldowns, a value it could not convert), answered briefly, and real faults,
logged with a reference and answered politely."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.render import NO_MENTIONS

log = logging.getLogger(__name__)


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


def expected_message(error: app_commands.AppCommandError) -> str | None:
    """The reply for an error that is the user's or the server's doing, or None."""
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission to change Dateline's settings."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command only works in a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that command here."
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't understand {error.value!r}."
    return None


class DatelineTree(app_commands.CommandTree):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        message = expected_message(error)
        if message is None:
            reference = secrets.token_hex(4)
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("unexpected error in /%s (reference %s)", command, reference, exc_info=error)
            message = (
                f"Sorry, something went wrong on my side. If it keeps happening, "
                f"tell the bot's operator: reference `{reference}`."
            )
        try:
            await reply_privately(interaction, message)
        except discord.HTTPException:
            log.warning("could not tell the user about an error", exc_info=True)
