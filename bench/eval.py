"""Retrieval quality on a hand-written question set (bench/questions.json) over archive-en.

    .venv/bin/python bench/eval.py [--config FILE] [--k 10] [--backends onnx,torch] [--group]
    .venv/bin/python bench/eval.py --archive zh [--config FILE]   # bench/questions_zh.json

``--archive zh`` scores the Chinese questions of bench/questions_zh.json over archive-zh (a
fresh database gets archive-zh; with ``--config``, that database must hold archive-zh) and
asks for the ``zh`` edition only, as ``/ask`` does in a server whose edition is zh.
``--questions FILE`` scores another set written in the same format.

Prints Recall@1, Recall@5 and MRR (over questions that have an answer; a question whose answer
is "nothing close" counts as a miss) for keyword-only, dense-only and hybrid search, and how
often each mode correctly says "nothing close" to the questions the archive can't answer.

``--group`` adds a second table for hybrid search as ``/ask`` shows it: hits folded into one
card per story (``embeddings.stories.Stories.group``, from ``CARDS * 3`` candidates). The
story-equivalence rule: a card answers the question when its event, or one of the retrieved
events folded into it (same story), is a listed answer; ranks are card ranks. The row
"ungrouped" is plain hybrid search scored at the same candidate depth, for comparison.

With several backends (default: onnx then torch) the index is rebuilt for each (the variant
switch re-embeds everything) and the mean cosine of each event's vectors under the two
backends is printed: how far the ONNX int8 vectors are from the fp32 torch ones.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench._setup import (  # noqa: E402
    ARCHIVE_EN,
    ARCHIVE_ZH,
    add_config_argument,
    bench_encoder,
    bench_settings,
    ensure_ingested,
)
from dateline.config import Settings  # noqa: E402

QUESTIONS = Path(__file__).resolve().parent / "questions.json"
# Per archive edition: its folder and its default question set.
ARCHIVES = {
    "en": (ARCHIVE_EN, QUESTIONS),
    "zh": (ARCHIVE_ZH, Path(__file__).resolve().parent / "questions_zh.json"),
}
MODES = ("keyword", "dense", "hybrid")


@dataclass(frozen=True)
class Question:
    text: str
    answers: frozenset[int]  # event ids; empty: the archive has no answer


async def load_questions(store: object, path: Path = QUESTIONS) -> list[Question]:
    """Resolve each (date, slug start) answer to an event id through the store."""
    from archive.store import Store

    assert isinstance(store, Store)
    questions = []
    items = json.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))
    for item in items["questions"]:
        ids = set()
        for date_text, slug_start in item["answers"]:
            events = await store.events_on(dt.date.fromisoformat(date_text))
            found = [
                e.id for e in events
                if any(s.startswith(slug_start) for s in (e.slug, *e.aliases))
            ]  # fmt: skip
            if len(found) != 1:
                raise SystemExit(f"{item['q']!r}: {date_text} {slug_start} matches {found}")
            ids.add(found[0])
        questions.append(Question(item["q"], frozenset(ids)))
    return questions


@dataclass
class Score:
    answerable: int = 0
    at1: int = 0
    at5: int = 0
    reciprocal: float = 0.0
    unanswerable: int = 0
    abstained: int = 0  # "nothing close" on a question with no answer
    false_abstained: int = 0  # "nothing close" on a question with an answer


async def evaluate(
    searcher: object, questions: list[Question], mode: str, k: int, lang: str | None = None
) -> Score:
    from embeddings.search import Searcher

    assert isinstance(searcher, Searcher)
    score = Score()
    for question in questions:
        answer = await searcher.ask(question.text, k=k, mode=mode, lang=lang)  # type: ignore[arg-type]
        if not question.answers:
            score.unanswerable += 1
            score.abstained += answer.nothing_close
            continue
        score.answerable += 1
        score.false_abstained += answer.nothing_close
        ranks = [n for n, h in enumerate(answer.hits, 1) if h.event.id in question.answers]
        if ranks:
            score.at1 += ranks[0] == 1
            score.at5 += ranks[0] <= 5
            score.reciprocal += 1 / ranks[0]
    return score


CARDS = 5
CANDIDATES_PER_CARD = 3


async def evaluate_grouped(
    searcher: object, store: object, questions: list[Question], k: int
) -> tuple[Score, Score, float]:
    """(ungrouped, grouped, mean ms for grouping) over the answerable questions."""
    import time

    from embeddings.search import Searcher
    from embeddings.stories import IndexSimilarity, Stories

    assert isinstance(searcher, Searcher)
    stories = Stories(store, IndexSimilarity(searcher))  # type: ignore[arg-type]
    plain, grouped, spent = Score(), Score(), 0.0
    for question in questions:
        if not question.answers:
            continue
        answer = await searcher.ask(question.text, k=max(k, CARDS * CANDIDATES_PER_CARD))
        for score in (plain, grouped):
            score.answerable += 1
            score.false_abstained += answer.nothing_close
        started = time.perf_counter()
        groups = await stories.group(answer.hits, limit=k)
        spent += time.perf_counter() - started
        cards = [
            {h.event.id for h in (g.hit, *g.members)} for g in groups
        ]  # fmt: skip
        for score, ranking in (
            (plain, [{h.event.id} for h in answer.hits[:k]]),
            (grouped, cards),
        ):
            ranks = [n for n, ids in enumerate(ranking, 1) if ids & question.answers]
            if ranks:
                score.at1 += ranks[0] == 1
                score.at5 += ranks[0] <= 5
                score.reciprocal += 1 / ranks[0]
    return plain, grouped, spent * 1000 / max(1, plain.answerable)


async def print_grouped(searcher: object, store: object, questions: list[Question], k: int) -> None:
    plain, grouped, ms = await evaluate_grouped(searcher, store, questions, k)
    print(f"\nGrouped by story (hybrid, {CARDS * CANDIDATES_PER_CARD} candidates, cards):\n")
    print("| answers          | Recall@1 | Recall@5 | MRR@10 |")
    print("|------------------|---------:|---------:|-------:|")
    for name, s in (("ungrouped", plain), ("one card a story", grouped)):
        print(
            f"| {name:<16} | {s.at1 / s.answerable:.3f} | {s.at5 / s.answerable:.3f}"
            f" | {s.reciprocal / s.answerable:.3f} |"
        )
    print(f"\ngrouping took {ms:.0f} ms a question on average")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_argument(parser)
    parser.add_argument("--k", type=int, default=10, help="hits per question (MRR@k)")
    parser.add_argument("--show", action="store_true", help="print each hybrid miss")
    parser.add_argument(
        "--group", action="store_true", help="also score answers grouped by story (as /ask)"
    )
    parser.add_argument(
        "--backends", default="onnx,torch", help="encoder backends to evaluate, in order"
    )
    parser.add_argument(
        "--archive",
        choices=sorted(ARCHIVES),
        default="en",
        help="which edition to score (zh: bench/questions_zh.json over archive-zh)",
    )
    parser.add_argument(
        "--questions", type=Path, help="question set (default: the archive's own, see above)"
    )
    args = parser.parse_args()
    archive, default_questions = ARCHIVES[args.archive]
    lang = None if args.archive == "en" else args.archive

    from archive.store import Store

    vectors: dict[str, dict[int, np.ndarray]] = {}
    with bench_settings(args.config) as settings:
        async with Store.open(settings.storage.database) as store:
            await ensure_ingested(settings, store, archive)
            questions = await load_questions(store, args.questions or default_questions)
            for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
                vectors[backend] = await evaluate_backend(
                    settings, store, questions, backend, args, lang
                )
    names = list(vectors)
    for other in names[1:]:
        first, second = vectors[names[0]], vectors[other]
        common = sorted(set(first) & set(second))
        cosines = np.array([float(first[i] @ second[i]) for i in common])
        print(
            f"\ncosine of {names[0]} to {other} vectors over {len(common)} events: mean"
            f" {cosines.mean():.4f}, min {cosines.min():.4f}, 5th percentile"
            f" {np.percentile(cosines, 5):.4f}"
        )


async def evaluate_backend(
    settings: Settings,
    store: object,
    questions: list[Question],
    backend: str,
    args: argparse.Namespace,
    lang: str | None = None,
) -> dict[int, np.ndarray]:
    from embeddings.search import Searcher

    encoder = await asyncio.to_thread(bench_encoder, settings, backend)
    searcher = await Searcher.load(
        settings.storage.index_dir,
        settings.embeddings,
        settings.search,
        store,  # type: ignore[arg-type]
        encoder,
    )
    answerable = sum(bool(q.answers) for q in questions)
    print(
        f"\n## backend {backend} ({searcher.encoder.variant})\n\n"
        f"{len(questions)} questions ({answerable} with an answer,"
        f" {len(questions) - answerable} without); model {settings.embeddings.model},"
        f" min_similarity {settings.search.min_similarity}, rrf_k"
        f" {settings.search.rrf_k}, candidates {settings.search.candidates}\n"
    )
    print("| mode    | Recall@1 | Recall@5 | MRR@10 | says 'nothing close' when"
          " there is no answer | wrongly says it |")  # fmt: skip
    print("|---------|---------:|---------:|-------:|---:|---:|")
    for mode in MODES:
        s = await evaluate(searcher, questions, mode, args.k, lang)
        print(
            f"| {mode:<7} | {s.at1 / s.answerable:.3f} | {s.at5 / s.answerable:.3f}"
            f" | {s.reciprocal / s.answerable:.3f}"
            f" | {s.abstained}/{s.unanswerable} | {s.false_abstained}/{s.answerable} |"
        )
    if args.group:
        await print_grouped(searcher, store, questions, args.k)
    if args.show:
        for q in questions:
            answer = await searcher.ask(q.text, k=5, lang=lang)
            top = [h.event.id for h in answer.hits]
            if (q.answers and (not top or top[0] not in q.answers)) or (
                not q.answers and not answer.nothing_close
            ):
                best = answer.hits[0] if answer.hits else None
                print(
                    f"\nMISS {q.text!r} -> "
                    + (f"{best.event.date} {best.event.headline[:90]}"
                       f" (dense {best.dense}, kw {best.keyword})" if best else "nothing")
                )  # fmt: skip
    ids, matrix = searcher.index.all_vectors()
    return {int(i): v for i, v in zip(ids, matrix, strict=True)}


if __name__ == "__main__":
    asyncio.run(main())
