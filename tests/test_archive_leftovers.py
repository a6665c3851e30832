"""The whole of archive-zh and archive-en, ingested: no stored text keeps mojibake or wiki
leftovers (issue 10). Every event is read back from the store (``event_hashes`` gives the
ids, ``events_by_ids`` the events with sources, tags and related links)."""

import re
from pathlib import Path

from archive.ingest import ingest
from archive.store import Store
from tests.conftest import shared_archive

LEFTOVERS = re.compile(r"â€|Ã|\{\{|\[\[|\|mi\|km|\|km\|mi|http:--|https:--")


async def test_no_stored_text_keeps_mojibake_or_wiki_leftovers(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "all.sqlite3") as store:
        zh = await ingest(store, shared_archive("archive-zh"))
        en = await ingest(store, shared_archive("archive-en"))
        assert zh.inline_sources > 400  # the edition writes sources into its headlines
        assert "inline sources found" in zh.summary()
        ids = sorted(await store.event_hashes())
        assert len(ids) == zh.events_seen + en.events_seen
        found: list[tuple[str, str]] = []
        texts = 0
        for start in range(0, len(ids), 500):
            for event in await store.events_by_ids(ids[start : start + 500]):
                fields = [event.headline, event.summary, event.topic or "", *event.tags]
                fields += [text for s in event.sources for text in (s.title, s.url)]
                fields += [text for r in event.related for text in (r.headline, *r.tags)]
                texts += len(fields)
                found += [(event.path, f) for f in fields if LEFTOVERS.search(f)]
                found += [(event.path, s.url) for s in event.sources if s.url.endswith("|")]
                found += [
                    (event.path, s.url)
                    for s in event.sources
                    if not s.url.lower().startswith(("http://", "https://"))
                ]
        assert texts > 100_000
        assert found == []
