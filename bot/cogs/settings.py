"""``/dateline channel|time|timezone|off|status|edition``: a server's settings.

Hidden from members without Manage Server (default permissions) and checked again here, since
a server's admins can override who sees a command.
"""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import DatelineBot
from bot.errors import reply_privately
from bot.schedule import (
    due_date,
    next_post_instant,
    parse_post_time,
    resolve_timezone,
    timezone_names,
)

REQUIRED = ("view_channel", "send_messages", "embed_links")


def require_manager(interaction: discord.Interaction) -> None:
    """Manage Server (or Administrator), checked again whoever the command is shown to."""
    permissions = interaction.permissions
    if not (permissions.manage_guild or permissions.administrator):
        raise app_commands.MissingPermissions(["manage_guild"])


def missing_permissions(channel: discord.abc.GuildChannel, me: discord.Member) -> list[str]:
    permissions = channel.permissions_for(me)
    return [name.replace("_", " ").title() for name in REQUIRED if not getattr(permissions, name)]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsCog(
    commands.GroupCog, group_name="dateline", group_description="Dateline's daily post settings"
):
    def __init__(self, bot: DatelineBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        require_manager(interaction)
        return True

    def _wake_daily(self) -> None:
        # The daily job (bot.cogs.daily) sleeps until its next post: let it look again now.
        self.bot.daily_wakeup.set()

    def _guild_id(self, interaction: discord.Interaction) -> int:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        return interaction.guild_id

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        # Removed from the server: no channel there will take the daily post any more.
        await self.bot.state.disable_guild(guild.id, self.bot.clock())

    @app_commands.command(name="channel", description="Post the daily digest in this channel")
    @app_commands.describe(channel="Where the daily 'on this day' digest goes")
    async def channel(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        guild = interaction.guild
        if guild is None:
            raise app_commands.NoPrivateMessage()
        missing = missing_permissions(channel, guild.me)
        if missing:
            await reply_privately(
                interaction,
                f"I can't post in {channel.mention}: I am missing {', '.join(missing)} there. "
                "Give me those permissions and run this again.",
            )
            return
        await self.bot.state.set_guild_channel(guild.id, channel.id, self.bot.clock())
        self._wake_daily()
        await reply_privately(
            interaction, f"Daily posts go to {channel.mention}. " + (await self._when(guild.id))
        )

    @app_commands.command(name="time", description="The local time of the daily post (HH:MM)")
    @app_commands.describe(time="24-hour time, like 09:00")
    async def time(self, interaction: discord.Interaction, time: str) -> None:
        guild_id = self._guild_id(interaction)
        try:
            post_time = parse_post_time(time)
        except ValueError as exc:
            await reply_privately(interaction, str(exc))
            return
        text = post_time.strftime("%H:%M")
        await self.bot.state.set_guild_post_time(guild_id, text, self.bot.clock())
        self._wake_daily()
        await reply_privately(
            interaction, f"Daily post time set to {text}. " + (await self._when(guild_id))
        )

    @app_commands.command(name="timezone", description="The timezone of the post time")
    @app_commands.describe(timezone="An IANA name, like Europe/Paris")
    async def timezone(self, interaction: discord.Interaction, timezone: str) -> None:
        guild_id = self._guild_id(interaction)
        try:
            zone = resolve_timezone(timezone)
        except ValueError as exc:
            await reply_privately(interaction, str(exc))
            return
        await self.bot.state.set_guild_timezone(guild_id, zone.key, self.bot.clock())
        self._wake_daily()
        await reply_privately(
            interaction, f"Timezone set to {zone.key}. " + (await self._when(guild_id))
        )

    @timezone.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip().lower().replace(" ", "_")
        names = [name for name in timezone_names() if needle in name.lower()]
        names.sort(key=lambda name: (not name.lower().startswith(needle), name))
        return [app_commands.Choice(name=name, value=name) for name in names[:25]]

    @app_commands.command(name="off", description="Stop the daily post")
    async def off(self, interaction: discord.Interaction) -> None:
        guild_id = self._guild_id(interaction)
        stopped = await self.bot.state.disable_guild(guild_id, self.bot.clock())
        self._wake_daily()
        text = "Daily posts are off." if stopped else "Daily posts were already off."
        await reply_privately(interaction, text + " `/dateline channel` turns them on again.")

    @app_commands.command(name="edition", description="The archive edition this server shows")
    @app_commands.describe(edition="en: English, zh: Chinese")
    async def edition(self, interaction: discord.Interaction, edition: Literal["en", "zh"]) -> None:
        guild_id = self._guild_id(interaction)
        await self.bot.state.set_guild_edition(guild_id, edition, self.bot.clock())
        self._wake_daily()
        await reply_privately(
            interaction,
            f"This server now shows the `{edition}` edition: /event, /ask, /onthisday, the daily"
            " post and the news feeds that did not choose their own.",
        )

    @app_commands.command(name="status", description="Show this server's daily post settings")
    async def status(self, interaction: discord.Interaction) -> None:
        guild_id = self._guild_id(interaction)
        row = await self.bot.state.guild_settings(guild_id)
        schedule = await self.bot.schedule_for(guild_id)
        lines = [
            f"Post time: {schedule.post_time.strftime('%H:%M')} ({schedule.timezone.key})",
        ]
        if row is None or row.channel_id is None:
            lines.insert(0, "Daily posts: off (no channel chosen; use `/dateline channel`).")
        else:
            if row.enabled:
                lines.insert(0, f"Daily posts: on, in <#{row.channel_id}>.")
                lines.append(await self._when(guild_id))
            elif row.disabled_reason:
                lines.insert(
                    0,
                    f"Daily posts: off. I switched them off for <#{row.channel_id}>: "
                    f"{row.disabled_reason}. `/dateline channel` turns them on again.",
                )
            else:
                lines.insert(
                    0,
                    f"Daily posts: off (they went to <#{row.channel_id}>; "
                    "`/dateline channel` turns them on again).",
                )
            posts = await self.bot.state.daily_posts(guild_id)
            if posts:
                last = posts[0]
                detail = f"Last post: {last.local_date.isoformat()}, {last.status}"
                if last.status == "failed" and last.last_error:
                    tries = "1 try" if last.attempts == 1 else f"{last.attempts} tries"
                    detail += f" after {tries} ({last.last_error[:200]})"
                lines.append(detail + ".")
        await reply_privately(interaction, "\n".join(lines))

    async def _when(self, guild_id: int) -> str:
        row = await self.bot.state.guild_settings(guild_id)
        if row is None or not row.enabled or row.channel_id is None:
            return "Daily posts are off until `/dateline channel` picks a channel."
        schedule = await self.bot.schedule_for(guild_id)
        now = self.bot.clock()
        today = due_date(now, schedule)
        if today is not None:
            post = await self.bot.state.daily_post(guild_id, row.channel_id, today)
            if post is None:
                return "Today's post is due and goes out now."
        at = int(next_post_instant(now, schedule).timestamp())
        return f"Next post: <t:{at}:F> ({schedule.post_time:%H:%M} {schedule.timezone.key})."


async def setup(bot: DatelineBot) -> None:
    await bot.add_cog(SettingsCog(bot))
