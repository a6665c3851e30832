"""The preview page as a person uses it, in headless Chromium (Playwright): a mistake is a
completed action with a private reply, not a failure, and the daily post appears on the open
page when its time comes on the bot's clock."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from playwright import async_api as playwright

from archive.store import Store
from bot.runner import open_resources, preview_session, preview_state_path
from dateline.config import ArchiveSettings, BotSettings, Settings, StorageSettings
from tests.bot_fixtures import BASE_URL, sample_events

# Not skipped when missing (no test skips): install it with `apt-get install chromium`.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SEND = "button[aria-label*=end i], button[title*=end i]"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def run_command(page, typed: str, *, pick: str | None = None, value: str | None = None):
    box = page.get_by_placeholder("Message #general")
    await box.click()
    await box.type(typed, delay=20)
    await page.wait_for_timeout(500)
    await page.keyboard.press("Enter")  # choose the command
    await page.wait_for_timeout(500)
    if pick:
        await page.get_by_role("option", name=pick).click()
    if value:
        await page.keyboard.type(value, delay=20)
        await page.wait_for_timeout(500)
        await page.keyboard.press("Escape")  # close the suggestions, keep what was typed
    await page.locator(SEND).last.click()
    await page.get_by_text("Action completed").wait_for(timeout=10_000)


async def test_the_preview_page_shows_mistakes_as_replies_and_the_daily_post(tmp_path: Path):
    settings = Settings(
        storage=StorageSettings(dir=tmp_path / "data"),
        archive=ArchiveSettings(path=tmp_path / "no-archive", base_url=BASE_URL),
        bot=BotSettings(default_post_time="09:00", default_timezone="UTC"),
    )
    async with Store.open(settings.storage.database) as store:
        await store.write_events([(None, event) for event in sample_events()])
    assert HAVE_CHROMIUM, "this test needs Chromium: apt-get install chromium"
    clock = Clock(dt.datetime(2027, 1, 1, 8, 58, tzinfo=dt.UTC))
    async with (
        open_resources(
            settings, searcher=False, state_path=preview_state_path(settings.storage)
        ) as (store, state, _),
        preview_session(settings, store, state, None, port=0, clock=clock, tick=0.2) as preview,
        playwright.async_playwright() as p,
    ):
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await browser.new_page(viewport={"width": 1200, "height": 900})
        await page.goto(preview.url)
        await page.get_by_placeholder("Message #general").wait_for()

        await run_command(page, "/event", value="yesterday")
        text = await page.evaluate("document.body.innerText")
        assert "Give a date like 2015-11-20" in text
        assert "uncertain" not in text.lower() and "action failed" not in text.lower()

        await run_command(page, "/dateline ch", pick="general")
        assert "Next post:" in await page.evaluate("document.body.innerText")
        # The bot's clock passes 09:00: the post appears on the open page, no reload.
        clock.now = dt.datetime(2027, 1, 1, 9, 0, 5, tzinfo=dt.UTC)
        await page.get_by_text("Daily post for 2027-01-01", exact=True).wait_for(timeout=15_000)
        text = await page.evaluate("document.body.innerText")
        assert "On this day, 1 January" in text
        await page.screenshot(path=str(tmp_path / "preview.png"))
        await browser.close()
        assert preview.env.errors == []
