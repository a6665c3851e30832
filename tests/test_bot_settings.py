"""``/dateline``: Manage Server only, validated input, the bot's own channel permissions."""

from __future__ import annotations

import datetime as dt

import discord
import pytest
from discord import app_commands
from simcord.backend.errors import SetupError

from bot.schedule import TIME_HELP, TIMEZONE_HELP


@pytest.fixture
def world(simcord_env):
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    boss = guild.add_member(simcord_env.create_user("boss"), roles=[role])
    pleb = guild.add_member(simcord_env.create_user("pleb"))
    return guild, channel, boss, pleb


async def test_channel_time_timezone_status_off(simcord_env, world, bot_state):
    guild, channel, boss, _ = world
    result = await boss.slash(channel, "dateline timezone", timezone="Europe/Paris")
    assert result.ephemeral
    assert "Timezone set to Europe/Paris" in result.response.content
    assert "off until `/dateline channel`" in result.response.content

    result = await boss.slash(channel, "dateline time", time="7:30")
    assert "Daily post time set to 07:30" in result.response.content

    result = await boss.slash(channel, "dateline channel", channel=channel)
    assert result.ephemeral
    assert f"Daily posts go to {channel.mention}" in result.response.content
    # 00:00 UTC is 01:00 in Paris: the next post is today at 07:30 Paris time (06:30 UTC).
    at = int(dt.datetime(2026, 1, 1, 6, 30, tzinfo=dt.UTC).timestamp())
    assert f"<t:{at}:F>" in result.response.content

    row = await bot_state.guild_settings(guild.id)
    assert row is not None
    assert (row.channel_id, row.post_time, row.timezone, row.enabled) == (
        channel.id,
        "07:30",
        "Europe/Paris",
        True,
    )

    result = await boss.slash(channel, "dateline status")
    assert result.ephemeral
    assert f"Daily posts: on, in <#{channel.id}>" in result.response.content
    assert "07:30 (Europe/Paris)" in result.response.content

    await simcord_env.advance_time(7 * 3600)
    result = await boss.slash(channel, "dateline status")
    assert "Last post: 2026-01-01, sent." in result.response.content

    result = await boss.slash(channel, "dateline off")
    assert "Daily posts are off." in result.response.content
    result = await boss.slash(channel, "dateline off")
    assert "already off" in result.response.content
    result = await boss.slash(channel, "dateline status")
    assert result.response.content.startswith(
        f"Daily posts: off (they went to <#{channel.id}>; `/dateline channel` turns them on again)."
    )  # not "off, in #general": nothing goes there while off
    assert not simcord_env.errors


async def test_commands_work_in_a_server_with_no_settings(simcord_env, world):
    _, channel, boss, pleb = world
    result = await boss.slash(channel, "dateline status")
    assert "Daily posts: off (no channel chosen" in result.response.content
    assert "09:00 (UTC)" in result.response.content
    result = await pleb.slash(channel, "onthisday")
    assert "On this day, 1 January" in result.response.content


async def test_member_without_manage_server_is_refused(simcord_env, world):
    guild, channel, _, pleb = world
    # Discord hides the command from them (default permissions)...
    assert "dateline status" not in pleb.available_commands(channel)
    with pytest.raises(SetupError, match="default-member-permissions"):
        await pleb.slash(channel, "dateline status")
    # ...and if a server admin shows it to everyone, the bot still refuses.
    [command] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == "dateline"]
    guild.set_command_permissions(command.id, {pleb: True})
    result = await pleb.slash(channel, "dateline channel", channel=channel)
    assert result.ephemeral
    assert result.response.content == (
        "You need the Manage Server permission to change Dateline's settings."
    )
    [error] = simcord_env.errors
    assert isinstance(error, app_commands.MissingPermissions)


@pytest.mark.parametrize(
    ("command", "value", "help_text"),
    [
        ("time", "25:00", TIME_HELP),
        ("time", "9am", TIME_HELP),
        ("timezone", "Mars/Olympus", TIMEZONE_HELP),
        ("timezone", "../etc/passwd", TIMEZONE_HELP),
    ],
)
async def test_bad_time_or_timezone(simcord_env, world, bot_state, command, value, help_text):
    guild, channel, boss, _ = world
    result = await boss.slash(channel, f"dateline {command}", **{command: value})
    assert result.ephemeral
    assert result.response.content == help_text
    assert await bot_state.guild_settings(guild.id) is None
    assert simcord_env.errors == []  # a user's mistake is answered, not an error


async def test_timezone_autocomplete(simcord_env, world):
    _, channel, boss, _ = world
    choices = await boss.autocomplete(channel, "dateline timezone", "timezone", "paris")
    assert choices[0]["value"] == "Europe/Paris"
    choices = await boss.autocomplete(channel, "dateline timezone", "timezone", "america/new")
    assert "America/New_York" in [c["value"] for c in choices]


async def test_channel_the_bot_cannot_post_in_is_refused(simcord_env, world, bot_state):
    guild, _, boss, _ = world
    locked = guild.create_text_channel(
        "locked",
        overwrites={guild.me: discord.PermissionOverwrite(send_messages=False, embed_links=False)},
    )
    result = await boss.slash(locked, "dateline channel", channel=locked)
    assert result.ephemeral
    assert result.response.content == (
        f"I can't post in {locked.mention}: I am missing Send Messages, Embed Links there. "
        "Give me those permissions and run this again."
    )
    assert await bot_state.guild_settings(guild.id) is None
    assert simcord_env.errors == []  # a user's mistake is answered, not an error


@pytest.mark.parametrize(
    ("typed", "zone"),
    [("paris", "Europe/Paris"), ("New York", "America/New_York"), ("europe/paris", "Europe/Paris")],
)
async def test_a_timezone_typed_loosely_is_accepted_when_it_names_one_zone(
    simcord_env, world, bot_state, typed, zone
):
    guild, channel, boss, _ = world
    result = await boss.slash(channel, "dateline timezone", timezone=typed)
    assert result.response.content.startswith(f"Timezone set to {zone}.")
    row = await bot_state.guild_settings(guild.id)
    assert row is not None and row.timezone == zone


async def test_a_near_miss_timezone_gets_a_did_you_mean(simcord_env, world, bot_state):
    guild, channel, boss, _ = world
    result = await boss.slash(channel, "dateline timezone", timezone="Europe/Pariss")
    assert result.ephemeral
    assert result.response.content.startswith("Did you mean Europe/Paris")
    assert await bot_state.guild_settings(guild.id) is None
    assert simcord_env.errors == []
