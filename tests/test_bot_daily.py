"""The daily "on this day" post: local time in two timezones, exactly once across restarts,
today's missed post after downtime, and bounded retries that leave other servers alone.

SimCord's virtual clock starts at 2026-01-01 00:00 UTC.
"""

from __future__ import annotations

import datetime as dt

import discord
import pytest

from bot.cogs.daily import marker
from tests.bot_fixtures import assert_no_mentions_allowed, make_event

HOUR = 3600.0


def admin(env, guild, name="admin"):
    role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return guild.add_member(env.create_user(name), roles=[role])


async def configure(env, *, post_time=None, timezone=None, name="server"):
    guild = env.create_guild(name)
    channel = guild.create_text_channel("daily")
    boss = admin(env, guild)
    # Time and timezone first: choosing the channel switches posts on from that moment.
    if timezone:
        await boss.slash(channel, "dateline timezone", timezone=timezone)
    if post_time:
        await boss.slash(channel, "dateline time", time=post_time)
    result = await boss.slash(channel, "dateline channel", channel=channel)
    assert "Daily posts go to" in result.response.content
    return guild, channel


def daily_posts(channel):
    return [m for m in channel.history() if "Daily post for" in m.content]


async def advance_to(env, when: dt.datetime) -> None:
    seconds = (when - env.now()).total_seconds()
    assert seconds >= 0
    await env.advance_time(seconds)


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, day, hour, minute, tzinfo=dt.UTC)


@pytest.mark.simcord(settle_timeout=30)
async def test_posts_once_a_day_at_local_time_in_two_timezones(simcord_env, bot_store):
    env = simcord_env
    _, new_york = await configure(env, timezone="America/New_York", name="ny")  # 09:00 default
    _, tokyo = await configure(env, timezone="Asia/Tokyo", post_time="08:00", name="tokyo")
    # New York is at 31 December 19:00 and Tokyo at 1 January 09:00: both posts of their
    # local today were due before posting was switched on, so neither goes out now.
    assert daily_posts(new_york) == [] and daily_posts(tokyo) == []

    await advance_to(env, utc(1, 13, 59))  # 08:59 in New York
    assert daily_posts(new_york) == []
    await advance_to(
        env,
        utc(
            1,
            14,
            0,
        ),
    )  # 09:00 in New York
    [post] = daily_posts(new_york)
    assert "On this day, 1 January" in post.content
    assert marker(dt.date(2026, 1, 1)) in post.content
    # Spread over the years (no round anniversary among 2015, 2019, 2020): one event a year,
    # newest year first.
    assert [e.title for e in post.embeds] == [
        "A minor New Year note",
        "Jair Bolsonaro takes office as President of Brazil",
        "Lithuania adopts the euro",
    ]

    await advance_to(env, utc(1, 22, 59))  # 07:59 on 2 January in Tokyo
    assert daily_posts(tokyo) == []
    await advance_to(env, utc(1, 23, 0))  # across local midnight: 08:00 on 2 January
    [post] = daily_posts(tokyo)
    assert "On this day, 2 January" in post.content
    assert [e.title for e in post.embeds] == ["Saudi Arabia executes 47 people"]

    await advance_to(env, utc(2, 14, 0))  # 2 January, 09:00 in New York
    await advance_to(env, utc(2, 23, 0))  # 3 January, 08:00 in Tokyo
    assert len(daily_posts(new_york)) == 2
    assert len(daily_posts(tokyo)) == 2
    assert "2 January" in daily_posts(new_york)[-1].content
    assert "3 January" in daily_posts(tokyo)[-1].content
    assert_no_mentions_allowed(env)
    assert not env.errors


@pytest.mark.simcord(settle_timeout=30)
async def test_restart_mid_day_does_not_post_again(simcord_env, make_bot):
    env = simcord_env
    _, channel = await configure(env)
    await advance_to(env, utc(1, 9, 0))
    assert len(daily_posts(channel)) == 1

    await advance_to(env, utc(1, 12, 0))
    await env.restart_bot(make_bot())
    await env.advance_time(HOUR)
    assert len(daily_posts(channel)) == 1

    await advance_to(env, utc(2, 9, 0))
    assert len(daily_posts(channel)) == 2


async def test_after_downtime_todays_missed_post_goes_out_and_older_days_do_not(
    simcord_env, bot_state, make_bot
):
    env = simcord_env
    guild = env.create_guild()
    channel = guild.create_text_channel("daily")
    # Configured days ago, while the bot was down: Tokyo's 08:00 on 1 January is past
    # (31 December 23:00 UTC), and so is every earlier day's.
    since = dt.datetime(2025, 12, 25, tzinfo=dt.UTC)
    await bot_state.set_guild_timezone(guild.id, "Asia/Tokyo", since)
    await bot_state.set_guild_post_time(guild.id, "08:00", since)
    await bot_state.set_guild_channel(guild.id, channel.id, since)

    await env.restart_bot(make_bot())  # the bot comes back

    [post] = daily_posts(channel)
    assert marker(dt.date(2026, 1, 1)) in post.content
    assert await bot_state.daily_post(guild.id, channel.id, dt.date(2025, 12, 31)) is None
    row = await bot_state.daily_post(guild.id, channel.id, dt.date(2026, 1, 1))
    assert row is not None and row.status == "sent" and row.message_id == post.id


async def test_claim_left_by_a_crash_is_reconciled_with_the_channel(
    simcord_env, bot_store, bot_state, make_bot
):
    env = simcord_env
    guild, channel = await configure(env)
    await advance_to(env, utc(1, 9, 0))
    [post] = daily_posts(channel)
    # As if the process died after Discord accepted the message but before it was recorded.
    await bot_store.connection.execute(
        "UPDATE bot_daily_posts SET status = 'claimed', message_id = NULL"
    )
    await bot_store.connection.commit()

    await advance_to(env, utc(1, 9, 10))  # the claim's lease has run out
    await env.restart_bot(make_bot())
    await env.advance_time(60)

    assert daily_posts(channel) == [post]
    row = await bot_state.daily_post(guild.id, channel.id, dt.date(2026, 1, 1))
    assert row is not None and row.status == "sent" and row.message_id == post.id


@pytest.mark.simcord(settle_timeout=30)
async def test_discord_errors_are_retried_boundedly_and_other_servers_are_unaffected(
    simcord_env, bot_state
):
    env = simcord_env
    flaky_guild, flaky = await configure(env, name="flaky")
    broken_guild, broken = await configure(env, name="broken")
    _, healthy = await configure(env, name="healthy")
    env.inject_error("POST", f"/channels/{flaky.id}/messages", status=500, times=2)
    env.inject_error("POST", f"/channels/{broken.id}/messages", status=503, times=None)

    await advance_to(env, utc(1, 9, 0))
    assert len(daily_posts(healthy)) == 1
    assert daily_posts(flaky) == [] and daily_posts(broken) == []

    await advance_to(env, utc(1, 10, 0))  # retries after 1 and 2 more minutes
    assert len(daily_posts(flaky)) == 1
    assert daily_posts(broken) == []
    assert len(daily_posts(healthy)) == 1
    today = dt.date(2026, 1, 1)
    flaky_row = await bot_state.daily_post(flaky_guild.id, flaky.id, today)
    assert flaky_row is not None and (flaky_row.status, flaky_row.attempts) == ("sent", 3)
    broken_row = await bot_state.daily_post(broken_guild.id, broken.id, today)
    assert broken_row is not None and (broken_row.status, broken_row.attempts) == ("failed", 3)
    assert broken_row.last_error and broken_row.last_error.startswith("503")

    posts_to_broken = [
        r
        for r in env.http_requests
        if r.method == "POST" and r.path == f"/channels/{broken.id}/messages"
    ]
    await advance_to(env, utc(1, 20, 0))
    assert (
        len(
            [
                r
                for r in env.http_requests
                if r.method == "POST" and r.path == f"/channels/{broken.id}/messages"
            ]
        )
        == len(posts_to_broken)
        == 3
    )  # given up for the day

    await advance_to(env, utc(2, 9, 0))  # a new day gets new tries; the others go on as usual
    assert len(daily_posts(healthy)) == 2
    assert len(daily_posts(flaky)) == 2
    assert not env.errors


async def test_deleted_channel_and_removed_permission_do_not_stop_other_servers(
    simcord_env, bot_state
):
    env = simcord_env
    _, healthy = await configure(env, name="healthy")
    locked_guild = env.create_guild("locked")
    locked = locked_guild.create_text_channel(
        "locked", overwrites={locked_guild.me: discord.PermissionOverwrite(send_messages=False)}
    )
    gone_guild = env.create_guild("gone")
    # Permission removed, and channel deleted, after the channel was chosen.
    await bot_state.set_guild_channel(locked_guild.id, locked.id, env.now())
    await bot_state.set_guild_channel(gone_guild.id, 999_999_999_999_999_999, env.now())

    await advance_to(env, utc(1, 12, 0))
    assert len(daily_posts(healthy)) == 1
    today = dt.date(2026, 1, 1)
    locked_row = await bot_state.daily_post(locked_guild.id, locked.id, today)
    gone_row = await bot_state.daily_post(gone_guild.id, 999_999_999_999_999_999, today)
    assert locked_row is not None and locked_row.status == "failed" and locked_row.attempts == 3
    assert locked_row.last_error and locked_row.last_error.startswith("403")
    assert gone_row is not None and gone_row.status == "failed"
    assert gone_row.last_error and gone_row.last_error.startswith("404")
    assert not env.errors


async def test_changing_the_time_wakes_the_scheduler(simcord_env):
    env = simcord_env
    guild, channel = await configure(env)  # 09:00 UTC
    boss = admin(env, guild, "boss2")
    await advance_to(env, utc(1, 0, 10))
    await boss.slash(channel, "dateline time", time="00:30")
    await advance_to(env, utc(1, 0, 30))
    assert len(daily_posts(channel)) == 1


async def test_leaving_a_server_turns_its_posts_off(simcord_env, bot_state):
    env = simcord_env
    guild, _ = await configure(env)
    await env.bot.get_guild(guild.id).leave()
    await env.settle()
    row = await bot_state.guild_settings(guild.id)
    assert row is not None and not row.enabled


async def _status(env, guild, channel) -> str:
    boss = admin(env, guild, "status-reader")
    result = await boss.slash(channel, "dateline status")
    return result.response.content


async def test_a_deleted_channel_switches_the_posts_off_and_status_says_why(simcord_env, bot_state):
    env = simcord_env
    guild = env.create_guild("gone")
    other = guild.create_text_channel("other")
    await bot_state.set_guild_channel(guild.id, 999_999_999_999_999_999, env.now())

    await advance_to(env, utc(1, 12, 0))
    today = dt.date(2026, 1, 1)
    row = await bot_state.daily_post(guild.id, 999_999_999_999_999_999, today)
    assert row is not None and row.attempts == 1  # a 404 is not retried
    settings = await bot_state.guild_settings(guild.id)
    assert settings is not None and not settings.enabled
    status = await _status(env, guild, other)
    assert status.startswith("Daily posts: off. I switched them off for <#999999999999999999>:")
    assert "the channel was deleted or can't be found (404" in status
    assert "after 1 try (" in status
    # Days later: no more tries.
    await advance_to(env, utc(4, 12, 0))
    assert len(await bot_state.daily_posts(guild.id)) == 1
    # Choosing a channel again turns them on and forgets the reason.
    boss = admin(env, guild, "boss")
    await boss.slash(other, "dateline channel", channel=other)
    settings = await bot_state.guild_settings(guild.id)
    assert settings is not None and settings.enabled and settings.disabled_reason is None
    assert not env.errors


@pytest.mark.simcord(settle_timeout=30)
async def test_access_lost_for_days_switches_the_posts_off(simcord_env, bot_state):
    env = simcord_env
    guild = env.create_guild("locked")
    locked = guild.create_text_channel(
        "locked", overwrites={guild.me: discord.PermissionOverwrite(send_messages=False)}
    )
    await bot_state.set_guild_channel(guild.id, locked.id, env.now())
    for day in (1, 2):
        await advance_to(env, utc(day, 23, 0))
        settings = await bot_state.guild_settings(guild.id)
        assert settings is not None and settings.enabled, day  # a bad day or two is tolerated
    await advance_to(env, utc(3, 23, 0))
    settings = await bot_state.guild_settings(guild.id)
    assert settings is not None and not settings.enabled
    assert settings.disabled_reason is not None
    assert "refused access to the channel 3 days in a row (403" in settings.disabled_reason
    await advance_to(env, utc(5, 23, 0))
    assert len(await bot_state.daily_posts(guild.id)) == 3


def posted_text(message) -> str:
    return message.content + "".join(
        (e.title or "") + (e.description or "") for e in message.embeds
    )


@pytest.mark.simcord(settle_timeout=30)
async def test_a_zh_server_and_an_en_server_on_one_database_get_their_own_edition(
    simcord_env, bot_store
):
    # Chinese events on 1 January of earlier years, beside the English ones of the fixture.
    zh = [
        make_event(dt.date(2015, 1, 1), "lituo-ouyuan", "立陶宛正式启用欧元", lang="zh"),
        make_event(dt.date(2018, 1, 1), "wuhan-qiao", "武汉长江新桥通车", lang="zh"),
    ]
    await bot_store.write_events([(None, e) for e in zh])
    env = simcord_env
    zh_guild, zh_channel = await configure(env, name="zh")
    _, en_channel = await configure(env, name="en")
    result = await admin(env, zh_guild, "zh-admin").slash(
        zh_channel, "dateline edition", edition="zh"
    )
    assert "`zh` edition" in result.response.content
    await advance_to(env, utc(1, 9, 1))

    [zh_post] = daily_posts(zh_channel)
    text = posted_text(zh_post)
    assert "2 events" in zh_post.content
    assert "立陶宛正式启用欧元" in text and "武汉长江新桥通车" in text
    assert "Lithuania" not in text and "Bolsonaro" not in text
    [en_post] = daily_posts(en_channel)
    text = posted_text(en_post)
    assert "Lithuania adopts the euro" in text and "Bolsonaro" in text
    assert "立陶宛" not in text and "武汉" not in text
