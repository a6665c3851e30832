"""Follow-ups that don't leave a user with "thinking…" forever.

After ``interaction.response.defer(thinking=True)`` Discord shows "thinking…" until a follow-up
arrives. ``send_followup`` retries a follow-up that fails on Discord's side (5xx) a bounded
number of times; if it still fails, it edits the deferred response into a short apology with a
reference (logged with the error), so the user is never left waiting.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence

import discord

from bot.render import NO_MENTIONS

log = logging.getLogger(__name__)

FOLLOWUP_ATTEMPTS = 3
# Seconds before the second and later tries (doubled each time).
FOLLOWUP_BACKOFF = 0.5


def apology(reference: str) -> str:
    return (
        "Sorry, I found an answer but Discord wouldn't take it. Please try again; if it keeps "
        f"happening, tell the bot's operator: reference `{reference}`."
    )


async def send_followup(
    interaction: discord.Interaction,
    content: str,
    *,
    embeds: Sequence[discord.Embed] = (),
    attempts: int = FOLLOWUP_ATTEMPTS,
) -> discord.Message | None:
    """Send the follow-up of a deferred interaction; None if it could not be sent (the
    deferred response then carries an apology, when Discord takes even that)."""
    for attempt in range(1, attempts + 1):
        try:
            return await interaction.followup.send(
                content, embeds=list(embeds), allowed_mentions=NO_MENTIONS, wait=True
            )
        except discord.HTTPException as exc:
            if exc.status < 500 or attempt == attempts:
                failure: discord.HTTPException = exc
                break
            await asyncio.sleep(FOLLOWUP_BACKOFF * 2 ** (attempt - 1))
    reference = secrets.token_hex(4)
    log.error(
        "follow-up of /%s failed after %d tries (reference %s)",
        interaction.command.qualified_name if interaction.command else "?",
        attempt,
        reference,
        exc_info=failure,
    )
    try:
        await interaction.edit_original_response(
            content=apology(reference), embeds=[], allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException:
        log.warning("could not replace 'thinking…' with an apology (reference %s)", reference)
    return None
