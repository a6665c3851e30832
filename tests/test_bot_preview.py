"""The preview (``bot.runner``): its own server state, its port reserved first, and the daily
post going out on the real clock while the page is open."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from pathlib import Path

import pytest

from archive.store import Store
from bot.runner import open_resources, preview_session, preview_state_path
from dateline.cli import main
from dateline.config import ArchiveSettings, BotSettings, Settings, StorageSettings
from tests.bot_fixtures import BASE_URL, sample_events


@pytest.fixture
async def preview_settings(tmp_path: Path) -> Settings:
    settings = Settings(
        storage=StorageSettings(dir=tmp_path / "data"),
        archive=ArchiveSettings(path=tmp_path / "no-archive", base_url=BASE_URL),
        bot=BotSettings(default_post_time="09:00", default_timezone="UTC"),
    )
    async with Store.open(settings.storage.database) as store:
        await store.write_events([(None, event) for event in sample_events()])
    return settings


class Clock:
    """A wall clock the test moves by hand (the preview's bot reads it)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def _wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def test_daily_post_goes_out_on_the_real_clock_and_state_stays_in_the_preview(
    preview_settings: Settings,
):
    clock = Clock(dt.datetime(2027, 1, 1, 8, 59, tzinfo=dt.UTC))
    state_path = preview_state_path(preview_settings.storage)
    async with (
        open_resources(preview_settings, searcher=False, state_path=state_path) as (
            store,
            state,
            _,
        ),
        preview_session(
            preview_settings, store, state, None, port=0, clock=clock, tick=0.05
        ) as preview,
    ):
        channel, you = preview.channel, preview.viewers[0]
        result = await you.slash(channel, "dateline channel", channel=channel)
        assert "Next post:" in result.response.content
        assert channel.last_message is None or "Daily post" not in channel.last_message.content
        # Real time passes the post time while the page is open: the post appears by itself.
        clock.now = dt.datetime(2027, 1, 1, 9, 0, 5, tzinfo=dt.UTC)

        def posted() -> bool:
            last = channel.last_message
            return last is not None and "Daily post for 2027-01-01" in last.content

        assert await _wait_for(posted)
        assert "On this day, 1 January" in channel.last_message.content
        assert preview.env.errors == []
    # The server's settings live in the preview's own file, not in the database `run` uses.
    async with (
        Store.open(preview_settings.storage.database) as store,
        store.connection.execute("SELECT name FROM sqlite_master WHERE name LIKE 'bot_%'") as cur,
    ):
        assert await cur.fetchall() == []
    assert state_path.exists()


async def test_choosing_a_post_time_a_minute_ahead_shows_the_post(preview_settings: Settings):
    # What someone trying the preview does: it is past today's 09:00, so they move the time.
    clock = Clock(dt.datetime(2027, 1, 1, 10, 0, tzinfo=dt.UTC))
    async with (
        open_resources(
            preview_settings,
            searcher=False,
            state_path=preview_state_path(preview_settings.storage),
        ) as (store, state, _),
        preview_session(
            preview_settings, store, state, None, port=0, clock=clock, tick=0.05
        ) as preview,
    ):
        channel, you = preview.channel, preview.viewers[0]
        await you.slash(channel, "dateline channel", channel=channel)
        result = await you.slash(channel, "dateline time", time="10:01")
        assert "Next post: <t:" in result.response.content
        await asyncio.sleep(0.3)
        assert channel.last_message is None or "Daily post" not in channel.last_message.content
        clock.now = dt.datetime(2027, 1, 1, 10, 1, 1, tzinfo=dt.UTC)

        def posted() -> bool:
            last = channel.last_message
            return last is not None and "Daily post for 2027-01-01" in last.content

        assert await _wait_for(posted)
        assert preview.env.errors == []


def test_a_busy_port_fails_cleanly_before_touching_anything(tmp_path: Path, capsys):
    config = tmp_path / "dateline.toml"
    config.write_text('[storage]\ndir = "data"\n[archive]\npath = "no-archive"\n')
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--config", str(config), "preview", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dateline: error: port {port} on 127.0.0.1 is busy")
    assert err.count("\n") == 1
    assert not (tmp_path / "data").exists()  # no database opened, no scheduler started
