"""Replies that reach the user: within Discord's 3 seconds, and never "thinking…" forever.

``read_or_defer`` runs a store read and defers the interaction if it is not done within
``DEFER_AFTER`` seconds (a day with very many events); ``respond`` then answers through the
response or the follow-up, whichever is open.

After ``interaction.response.defer(thinking=True)`` Discord shows "thinking…" until a follow-up
arrives. ``send_followup`` retries a follow-up that fails on Discord's side (5xx) a bounded
number of times; if it still fails, it edits the deferred response into a short apology with a
reference (logged with the error), so the user is never left waiting.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import discord

from bot.render import NO_MENTIONS

log = logging.getLogger(__name__)

T = TypeVar("T")

# Discord drops an interaction not answered within 3 s: a read still running after this long
# gets the interaction deferred first.
DEFER_AFTER = 1.0
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
    view: discord.ui.View | None = None,
    attempts: int = FOLLOWUP_ATTEMPTS,
) -> discord.Message | None:
    """Send the follow-up of a deferred interaction; None if it could not be sent (the
    deferred response then carries an apology, when Discord takes even that)."""
    for attempt in range(1, attempts + 1):
        try:
            if view is None:
                return await interaction.followup.send(
                    content, embeds=list(embeds), allowed_mentions=NO_MENTIONS, wait=True
                )
            return await interaction.followup.send(
                content, embeds=list(embeds), view=view, allowed_mentions=NO_MENTIONS, wait=True
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


async def read_or_defer(
    interaction: discord.Interaction, read: Awaitable[T], *, after: float = DEFER_AFTER
) -> T:
    """The result of ``read``; if it takes longer than ``after`` seconds, the interaction is
    deferred (publicly, "thinking…") meanwhile, so the answer may take as long as it needs."""
    task = asyncio.ensure_future(read)
    done, _ = await asyncio.wait({task}, timeout=after)
    if not done and not interaction.response.is_done():
        await interaction.response.defer(thinking=True)
    return await task


async def respond(
    interaction: discord.Interaction,
    content: str,
    *,
    embeds: Sequence[discord.Embed] = (),
    view: discord.ui.View | None = None,
) -> discord.Message | None:
    """Answer publicly through the initial response, or the follow-up once deferred; the
    message sent, when Discord returns it."""
    if interaction.response.is_done():
        return await send_followup(interaction, content, embeds=embeds, view=view)
    if view is None:
        await interaction.response.send_message(
            content, embeds=list(embeds), allowed_mentions=NO_MENTIONS
        )
        return None
    await interaction.response.send_message(
        content, embeds=list(embeds), view=view, allowed_mentions=NO_MENTIONS
    )
    return await interaction.original_response()
