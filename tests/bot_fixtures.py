"""Fixtures for the bot tests (SimCord): a store with known events, and the bot under test.

SimCord's virtual clock starts at 2026-01-01 00:00 UTC, so the sample archive has events on
1 and 2 January of earlier years (for the daily post), a busy day (for pagination) and an
event whose text tries to ping and to break the layout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from archive.models import NewEvent, Source
from archive.store import Store
from bot.client import DatelineBot, create_bot
from bot.state import BotState
from dateline.config import ArchiveSettings, BotSettings, Settings, StorageSettings
from embeddings.encoder import FakeEncoder
from embeddings.search import Searcher

BASE_URL = "https://archive.example/blob/master"
BUSY_DAY = dt.date(2015, 11, 20)
BUSY_DAY_EVENTS = 24
HOSTILE_HEADLINE = "@everyone **Breaking** <@123456789012345678> news"


def make_event(day: dt.date, slug: str, headline: str, **fields: Any) -> NewEvent:
    values: dict[str, Any] = {
        "lang": "en",
        "date": day,
        "slug": slug,
        "headline": headline,
        "summary": fields.pop("summary", f"Summary of {headline}."),
        "topic": fields.pop("topic", None),
        "tags": fields.pop("tags", ()),
        "sources": fields.pop(
            "sources", (Source(f"Report on {slug}", f"https://news.example/{slug}"),)
        ),
        "aliases": (slug,),
    }
    values.update(fields)
    return NewEvent(**values)


def sample_events() -> list[NewEvent]:
    events = [
        make_event(dt.date(2015, 1, 1), "lithuania-euro", "Lithuania adopts the euro"),
        make_event(
            dt.date(2019, 1, 1),
            "brazil-president",
            "Jair Bolsonaro takes office as President of Brazil",
            sources=(
                Source("Agency report", "https://news.example/a"),
                Source("Newspaper", "https://news.example/b"),
            ),
        ),
        make_event(dt.date(2020, 1, 1), "minor-note", "A minor New Year note", has_page=False),
        make_event(dt.date(2016, 1, 2), "saudi-executions", "Saudi Arabia executes 47 people"),
        make_event(
            dt.date(2017, 3, 5),
            "hostile",
            HOSTILE_HEADLINE,
            summary="Ping @here and @everyone, *bold* ~~strike~~ `code` > quote ||spoiler||",
            sources=(Source("A [bracketed] title", "https://news.example/x?a=1&b=(2)"),),
        ),
    ]
    for n in range(BUSY_DAY_EVENTS):
        events.append(
            make_event(
                BUSY_DAY,
                f"busy-{n:02d}",
                f"Busy day event number {n:02d}",
                summary="A long summary. " * 60,
                position=n,
            )
        )
    return events


def message_bodies(env: Any) -> list[dict[str, Any]]:
    """Every message body the bot sent, edited or answered an interaction with."""
    bodies = []
    for record in env.http_requests:
        body = record.json
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            body = body["data"]
        if isinstance(body, dict) and ("content" in body or "embeds" in body):
            bodies.append(body)
    return bodies


def assert_no_mentions_allowed(env: Any) -> None:
    bodies = message_bodies(env)
    assert bodies
    for body in bodies:
        assert body.get("allowed_mentions") == {"parse": []}, body


@pytest.fixture
def bot_settings(tmp_path: Path) -> Settings:
    return Settings(
        storage=StorageSettings(dir=tmp_path / "data"),
        archive=ArchiveSettings(base_url=BASE_URL),
        bot=BotSettings(default_post_time="09:00", default_timezone="UTC", post_retries=3),
    )


@pytest.fixture
async def bot_store(bot_settings: Settings) -> AsyncIterator[Store]:
    async with Store.open(bot_settings.storage.database) as store:
        await store.write_events([(None, event) for event in sample_events()])
        yield store


@pytest.fixture
async def bot_state(bot_store: Store) -> BotState:
    """The bot's tables, on the store's connection (as ``bot.runner.open_resources`` does)."""
    return await BotState.attach(bot_store.connection)


@pytest.fixture
async def bot_searcher(bot_settings: Settings, bot_store: Store) -> Searcher:
    """The real hybrid searcher over the sample store, with the deterministic fake encoder."""
    return await Searcher.load(
        bot_settings.storage.index_dir,
        bot_settings.embeddings,
        bot_settings.search,
        bot_store,
        FakeEncoder(),
    )


@pytest.fixture
def make_bot(
    bot_settings: Settings, bot_store: Store, bot_state: BotState, bot_searcher: Searcher
) -> Any:
    """Build a fresh bot on the same store (e.g. for ``env.restart_bot``)."""

    def build(**overrides: Any) -> DatelineBot:
        options: dict[str, Any] = {
            "store": bot_store,
            "state": bot_state,
            "searcher": bot_searcher,
            "sync_on_start": True,
        }
        settings = overrides.pop("settings", bot_settings)
        options.update(overrides)
        return create_bot(settings.bot, settings.archive, **options)

    return build


@pytest.fixture
def simcord_bot(make_bot: Any) -> DatelineBot:
    return make_bot()
