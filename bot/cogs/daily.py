"""The daily "on this day" post: once per server and local day, at the server's local time.

Exactly once: before posting, a row keyed by (server, channel, local date) is claimed in the
store in one statement; a sent row is never claimed again, so a restart, a reconnect or an
overlapping tick can't post twice. A failed try is retried a bounded number of times with a
backoff; a claim left behind by a process that died mid-post is taken over after a lease, and
the channel is first searched for the post it may already have made. Only today's local date
is ever due, so after downtime today's missed post goes out and older days are not.

Scheduling is a plain task (``bot.timer.PeriodicJob``) started in ``cog_load``: it waits until
the bot is ready, posts what is due, then sleeps until the next post or retry time, or until
``bot.daily_wakeup`` is set (the settings commands set it after any change).
"""

from __future__ import annotations

import datetime as dt
import logging

import discord
from discord.ext import commands

from bot.client import DatelineBot
from bot.cogs.onthisday import build_digest
from bot.render import NO_MENTIONS
from bot.schedule import due_date, next_post_instant, retry_delay, seconds_until
from bot.state import DailyPostRow, GuildSettingsRow
from bot.timer import PeriodicJob

log = logging.getLogger(__name__)

# A claim older than this belongs to a process that died while posting.
CLAIM_LEASE = dt.timedelta(minutes=5)
# Look again at least this often, whatever the schedule says.
LONGEST_SLEEP = dt.timedelta(hours=1)
# After an unexpected failure of a whole check.
RETRY_CHECK = dt.timedelta(minutes=1)
# Days in a row a post may end refused (403: access lost) before the server's posts are
# switched off. A deleted channel (404) switches them off at once: no retry can bring it back.
LOST_ACCESS_DAYS = 3


def marker(local_date: dt.date) -> str:
    """The line that identifies a daily post in its channel (found again after a crash)."""
    return f"Daily post for {local_date.isoformat()}"


class DailyCog(commands.Cog):
    def __init__(self, bot: DatelineBot) -> None:
        self.bot = bot
        self.job = PeriodicJob(
            "daily posts",
            self.check,
            wakeup=bot.daily_wakeup,
            retry_after=RETRY_CHECK.total_seconds(),
            before=bot.wait_until_ready,
        )

    async def cog_load(self) -> None:
        self.job.start()

    async def cog_unload(self) -> None:
        await self.job.stop()

    async def check(self) -> float:
        """Post what is due now; the seconds until the next look."""
        now = self.bot.clock()
        wake_at = await self.post_due(now)
        return seconds_until(now, wake_at, longest=LONGEST_SLEEP)

    async def post_due(self, now: dt.datetime) -> list[dt.datetime]:
        """Post every server's digest that is due; return when to look again."""
        wake_at: list[dt.datetime] = []
        for row in await self.bot.state.enabled_guild_settings():
            try:
                schedule = await self.bot.schedule_for(row.guild_id)
                wake_at.append(next_post_instant(now, schedule))
                local_date = due_date(now, schedule)
                if local_date is not None and row.channel_id is not None:
                    await self.post_once(row, row.channel_id, local_date, now)
            except Exception:
                # One server's trouble must not stop the others.
                log.exception("daily post for server %s failed", row.guild_id)
        retry = await self.bot.state.next_daily_retry(now)
        if retry is not None:
            wake_at.append(retry)
        return wake_at

    async def post_once(
        self, row: GuildSettingsRow, channel_id: int, local_date: dt.date, now: dt.datetime
    ) -> None:
        state = self.bot.state
        max_attempts = max(1, self.bot.bot_settings.post_retries)
        claim = await state.claim_daily_post(
            row.guild_id,
            channel_id,
            local_date,
            now,
            max_attempts=max_attempts,
            lease=CLAIM_LEASE,
        )
        if claim is None:
            return  # sent already, in flight, waiting for its retry time, or given up
        try:
            channel = await self.bot.messageable(channel_id)
            if claim.attempts > 1:
                earlier = await self._find_earlier_post(channel, claim)
                if earlier is not None:
                    await state.mark_daily_post_sent(
                        row.guild_id, channel_id, local_date, earlier.id
                    )
                    return
            page, view = await build_digest(
                self.bot.store,
                self.bot.stories,
                self.bot.archive_settings.base_url,
                local_date,
                marker=marker(local_date),
                lang=await self.bot.edition_for(row.guild_id),
            )
            message = await channel.send(
                page.content, embeds=list(page.embeds), view=view, allowed_mentions=NO_MENTIONS
            )
        except (discord.HTTPException, discord.ClientException, LookupError) as exc:
            gone = isinstance(exc, discord.NotFound)
            given_up = gone or claim.attempts >= max_attempts
            retry_at = None if given_up else now + retry_delay(claim.attempts)
            await state.mark_daily_post_failed(
                row.guild_id, channel_id, local_date, describe(exc), retry_at
            )
            if given_up:
                await self._switch_off_if_lost(row.guild_id, channel_id, exc, now)
            log.warning(
                "daily post for server %s, channel %s, %s: try %d of %d failed (%s)%s",
                row.guild_id,
                channel_id,
                local_date,
                claim.attempts,
                max_attempts,
                describe(exc),
                "; given up for the day" if given_up else f"; retrying at {retry_at}",
            )
            return
        await state.mark_daily_post_sent(row.guild_id, channel_id, local_date, message.id)
        log.info("daily post for server %s, %s: sent", row.guild_id, local_date)

    async def _switch_off_if_lost(
        self, guild_id: int, channel_id: int, exc: BaseException, now: dt.datetime
    ) -> None:
        """Stop posting to a channel that is gone, or refused us for days, and say why."""
        if isinstance(exc, discord.NotFound):
            reason = f"the channel was deleted or can't be found ({describe(exc)})"
        elif isinstance(exc, discord.Forbidden):
            recent = [
                p for p in await self.bot.state.daily_posts(guild_id) if p.channel_id == channel_id
            ][:LOST_ACCESS_DAYS]
            refused = [p for p in recent if p.status == "failed" and p.last_error
                       and p.last_error.startswith("403")]  # fmt: skip
            if len(refused) < LOST_ACCESS_DAYS:
                return
            reason = (
                f"I was refused access to the channel {LOST_ACCESS_DAYS} days in a row"
                f" ({describe(exc)})"
            )
        else:
            return
        if await self.bot.state.disable_guild(guild_id, now, reason=reason):
            log.warning("daily posts for server %s switched off: %s", guild_id, reason)

    async def _find_earlier_post(
        self, channel: discord.abc.Messageable, claim: DailyPostRow
    ) -> discord.Message | None:
        """Our post for the claimed day, if an earlier try made it despite reporting failure."""
        text = marker(claim.local_date)
        after = claim.first_claimed_at - dt.timedelta(minutes=1)
        try:
            async for message in channel.history(limit=50, after=after):
                if (
                    self.bot.user
                    and message.author.id == self.bot.user.id
                    and text in message.content
                ):
                    return message
        except discord.Forbidden:
            # Without Read Message History we can't tell; posting beats never posting.
            log.warning(
                "can't read the history of channel %s to check for an earlier post",
                getattr(channel, "id", "?"),
            )
        return None


def describe(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"{exc.status} {exc.text or type(exc).__name__}".strip()
    return f"{type(exc).__name__}: {exc}"


async def setup(bot: DatelineBot) -> None:
    await bot.add_cog(DailyCog(bot))
