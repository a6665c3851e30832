"""The paginator: Prev/Next buttons only the invoker can press; they go away on timeout."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import discord

from bot.render import NO_MENTIONS, Page

NOT_YOURS = "Only the person who ran the command can turn these pages."


class PageView(discord.ui.View):
    def __init__(self, pages: Sequence[Page], *, owner_id: int, timeout: float = 180.0) -> None:
        super().__init__(timeout=timeout)
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.Message | None = None
        self._update_buttons()

    @property
    def page(self) -> Page:
        return self.pages[self.index]

    def _update_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index == len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            NOT_YOURS, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return False

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._update_buttons()
        await interaction.response.edit_message(
            content=self.page.content,
            embeds=list(self.page.embeds),
            view=self,
            allowed_mentions=NO_MENTIONS,
        )

    @discord.ui.button(label="Prev", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._show(interaction, self.index + 1)

    async def on_timeout(self) -> None:
        self.clear_items()
        if self.message is not None:
            # The message may be gone, or the interaction token expired.
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=None, allowed_mentions=NO_MENTIONS)
