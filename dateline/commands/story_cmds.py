"""``dateline related`` and ``dateline story``: related events and story timelines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dateline.commands.common import UsageError, print_json
from dateline.config import Settings


def register(commands: Any) -> None:
    related = commands.add_parser("related", help="an event's related events, newest first")
    related.add_argument("id", type=int, help="the event id (see `dateline event --json`)")
    related.add_argument("--json", action="store_true", help="print a JSON array")
    related.set_defaults(handler=run_related)

    story = commands.add_parser(
        "story", help="the timeline of the story an event belongs to (by id or question)"
    )
    story.add_argument("id", type=int, nargs="?", help="the event id")
    story.add_argument("--question", "-q", help="or a question: the best-matching event's story")
    story.add_argument("--json", action="store_true", help="print the story as JSON")
    story.add_argument("--png", type=Path, metavar="FILE", help="also write the timeline chart")
    story.set_defaults(handler=run_story)


async def _stories(settings: Settings, store: Any, *, need_search: bool) -> tuple[Any, Any]:
    """(Stories, Searcher or None): meaning closeness needs the index; without it a story is
    its linked events only."""
    from embeddings.index import META_FILE
    from embeddings.search import Searcher
    from embeddings.stories import IndexSimilarity, Stories

    searcher = None
    if (settings.storage.index_dir / META_FILE).exists():
        searcher = await Searcher.load(
            settings.storage.index_dir, settings.embeddings, settings.search, store
        )
    elif need_search:
        raise UsageError("there is no search index yet: run `dateline index` first")
    else:
        print("dateline: no search index: the story holds linked events only", file=sys.stderr)
    return Stories(store, IndexSimilarity.of(searcher)), searcher


async def _event(store: Any, event_id: int) -> Any:
    found = await store.events_by_ids([event_id])
    if not found:
        if await store.count_events() == 0:
            raise UsageError("the database is empty: run `dateline ingest` first")
        raise UsageError(f"no event with id {event_id}")
    return found[0]


async def run_related(settings: Settings, args: argparse.Namespace) -> int:
    from archive.store import Store
    from embeddings.stories import Stories

    async with Store.open(settings.storage.database) as store:
        event = await _event(store, args.id)
        related = await Stories(store).related(event)
    if args.json:
        print_json(r.to_dict() for r in related)
        return 0
    print(f"{event.date.isoformat()}  {event.headline}")
    if not related:
        print("  no related events")
    base = settings.archive.base_url.rstrip("/")
    for item in related:
        when = item.date.isoformat() if item.date else "undated   "
        arrow = "->" if item.direction == "links to" else "<-"
        stored = f"#{item.event.id}" if item.event else "(not in the archive)"
        print(f"  {when} {arrow} {item.headline}  {stored}  {base}/{item.path}")
    return 0


async def run_story(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from archive.store import Store
    from embeddings.timeline_chart import story_chart

    if (args.id is None) == (not args.question):
        raise UsageError("give an event id or --question (one of them)")
    async with Store.open(settings.storage.database) as store:
        # The event first: a wrong id is one line, without the no-index notice before it.
        anchor = await _event(store, args.id) if args.id is not None else None
        stories, searcher = await _stories(settings, store, need_search=anchor is None)
        if anchor is None:
            answer = await searcher.ask(args.question, k=1)
            if not answer.hits:
                print("nothing in the archive is close enough to that question")
                return 0
            anchor = answer.hits[0].event
        story = await stories.story(anchor)
    if args.png:
        png = await asyncio.to_thread(story_chart, story)
        await asyncio.to_thread(args.png.write_bytes, png)
    if args.json:
        json.dump(story.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(
        f"Story of #{anchor.id}: {len(story.events)} events,"
        f" {story.date_from.isoformat()} .. {story.date_to.isoformat()}"
    )
    for event in story.events:
        mark = "*" if event.id == anchor.id else ("~" if event.id in story.linked else " ")
        print(f" {mark} {event.date.isoformat()}  #{event.id}  {event.headline}")
    print("  (* the event, ~ linked to it, the rest: same topic and close in meaning)")
    if args.png:
        print(f"chart written to {args.png}")
    return 0
