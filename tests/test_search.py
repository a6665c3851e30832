import asyncio
import dataclasses
import datetime as dt
import threading

import numpy as np
import pytest

from embeddings.encoder import FakeEncoder
from embeddings.indexing import build_index
from embeddings.script import CJK, question_script
from embeddings.search import Searcher
from tests.search_fixtures import add_events, change_event, make_event, make_settings


async def ask(searcher: Searcher, question: str, **kwargs):
    answer = await searcher.ask(question, **kwargs)
    return answer, [h.event.headline for h in answer.hits]


@pytest.fixture
async def searcher(search_settings, sample_store, fake_encoder) -> Searcher:
    return await Searcher.load(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        search_settings.search,
        sample_store,
        fake_encoder,
    )


async def test_best_match_first_one_hit_per_event(searcher):
    answer, headlines = await ask(searcher, "cruise missiles fired from the Caspian", k=5)
    assert headlines[0] == "Russian warships fire cruise missiles from the Caspian Sea"
    assert not answer.nothing_close
    assert len({h.event.id for h in answer.hits}) == len(answer.hits) <= 5
    scores = [h.score for h in answer.hits]
    assert scores == sorted(scores, reverse=True)
    top = answer.hits[0]
    assert top.dense is not None and top.keyword is not None and top.keyword > 0


async def test_hybrid_fuses_both_retrievers(searcher, monkeypatch):
    dense = await searcher.ask("floods", k=3, mode="dense")
    keyword = await searcher.ask("floods", k=3, mode="keyword")
    hybrid = await searcher.ask("floods", k=3)
    assert all(h.keyword is None for h in dense.hits)
    assert all(h.dense is None for h in keyword.hits)
    ids = {h.event.id for h in hybrid.hits}
    assert ids <= {h.event.id for h in dense.hits} | {h.event.id for h in keyword.hits}
    assert {h.event.headline for h in hybrid.hits[:2]} == {
        "Floods in Jeddah kill dozens after record rainfall",
        "Floods cut power to a Chennai hospital",
    }


async def test_date_in_the_question_filters_both_retrievers(searcher):
    answer, headlines = await ask(searcher, "floods in 2015", k=5)
    assert headlines == ["Floods cut power to a Chennai hospital"]
    assert (answer.date_from, answer.date_to) == (dt.date(2015, 1, 1), dt.date(2015, 12, 31))
    answer, headlines = await ask(searcher, "floods before 2010", k=5)
    assert headlines == ["Floods in Jeddah kill dozens after record rainfall"]
    assert answer.date_from is None and answer.date_to == dt.date(2009, 12, 31)


async def test_explicit_dates_win_over_the_question(searcher):
    answer, headlines = await ask(
        searcher, "floods in 2015", date_from=dt.date(2009, 1, 1), date_to=dt.date(2009, 12, 31)
    )
    assert headlines == ["Floods in Jeddah kill dozens after record rainfall"]
    assert answer.date_from == dt.date(2009, 1, 1)


async def test_window_without_events_or_inverted_is_nothing_close(searcher):
    answer, _ = await ask(searcher, "floods in 1999")
    assert answer.nothing_close and answer.hits == ()
    answer, _ = await ask(
        searcher, "floods", date_from=dt.date(2015, 1, 2), date_to=dt.date(2015, 1, 1)
    )
    assert answer.nothing_close and answer.hits == ()


async def test_a_question_that_is_only_a_date_lists_that_day(searcher):
    answer, headlines = await ask(searcher, "What happened on 20 November 2015?")
    assert not answer.nothing_close
    assert sorted(headlines) == [
        "Gunmen take hostages at a hotel in Bamako Mali",
        "Russian warships fire cruise missiles from the Caspian Sea",
    ]


async def test_relevance_floor_rejects_unrelated_questions(searcher):
    answer, _ = await ask(searcher, "sourdough baking recipe with rye")
    assert answer.nothing_close and answer.hits == ()
    answer, _ = await ask(searcher, "the of and what")
    assert answer.nothing_close


async def test_floor_follows_min_similarity(tmp_path, sample_store, fake_encoder):
    settings = make_settings(tmp_path, search={"min_similarity": -1.0})
    searcher = await Searcher.load(
        settings.storage.index_dir, settings.embeddings, settings.search, sample_store, fake_encoder
    )
    answer, _ = await ask(searcher, "sourdough baking recipe with rye")
    assert not answer.nothing_close and answer.hits


async def test_strong_keyword_match_passes_a_strict_floor(tmp_path, sample_store, fake_encoder):
    settings = make_settings(tmp_path, search={"min_similarity": 0.999})
    searcher = await Searcher.load(
        settings.storage.index_dir, settings.embeddings, settings.search, sample_store, fake_encoder
    )
    answer, headlines = await ask(searcher, "antihydrogen CERN physicists")
    assert headlines[0] == "CERN physicists trap antihydrogen atoms"
    answer, _ = await ask(searcher, "antihydrogen experiments at Fermilab in Illinois")
    assert answer.nothing_close  # one word of five is no strong match


async def test_encoding_runs_off_the_event_loop(search_settings, sample_store):
    class RecordingEncoder(FakeEncoder):
        threads: list[int] = []

        def encode(self, texts):
            self.threads.append(threading.get_ident())
            return super().encode(texts)

    encoder = RecordingEncoder()
    searcher = await Searcher.load(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        search_settings.search,
        sample_store,
        encoder,
    )
    encoder.threads.clear()
    await asyncio.gather(searcher.ask("floods"), searcher.ask("hurricane"))
    assert len(encoder.threads) == 2
    assert threading.get_ident() not in encoder.threads


async def test_load_brings_a_stale_index_in_line(search_settings, sample_store, fake_encoder):
    await build_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, fake_encoder
    )
    ids = sorted(await sample_store.event_hashes())
    await change_event(sample_store, ids[3], headline="Volcano erupts in Iceland")
    await sample_store.write_events([], deletes=[ids[4]])
    (new_id,) = await add_events(
        sample_store, [make_event("2016-02-02", "Zika virus spreads in Brazil", None, (), 50)]
    )
    searcher = await Searcher.load(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        search_settings.search,
        sample_store,
        FakeEncoder(),
    )
    assert set(searcher.index.entries) == set(await sample_store.event_hashes())
    answer, headlines = await ask(searcher, "volcano erupts in Iceland")
    assert answer.hits[0].event.id == ids[3]
    answer, _ = await ask(searcher, "Zika virus in Brazil")
    assert answer.hits[0].event.id == new_id


async def test_events_deleted_after_loading_are_never_returned(searcher, sample_store):
    answer, _ = await ask(searcher, "marijuana possession charge")
    gone = answer.hits[0].event.id
    await sample_store.write_events([], deletes=[gone])
    answer, _ = await ask(searcher, "marijuana possession charge")
    assert gone not in {h.event.id for h in answer.hits}


async def test_bad_k(searcher):
    with pytest.raises(ValueError):
        await searcher.ask("floods", k=0)


@pytest.mark.real_model
async def test_real_model_finds_the_caspian_missiles(
    search_settings, archive_en_days, real_encoder
):
    searcher = await Searcher.load(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        search_settings.search,
        archive_en_days,
        real_encoder,
    )
    answer = await searcher.ask("Russian cruise missiles fired from the Caspian Sea")
    top = answer.hits[0].event
    assert top.date == dt.date(2015, 11, 20)
    assert top.headline.startswith("Russian warships launch cruise missiles")
    assert answer.hits[0].dense is not None and answer.hits[0].dense > 0.5
    nothing = await searcher.ask("How do I bake sourdough bread at home?")
    assert nothing.nothing_close and not nothing.hits


# ----- a model that can't read the question's script (embeddings.script) -------------------

ZH_EVENTS = [
    ("2015-06-01", "东方之星客轮在长江翻沉", "长江", ()),
    ("2015-07-04", "智利在美洲杯决赛点球大战击败阿根廷夺冠", "美洲杯", ()),
    ("2017-01-30", "摩洛哥重新加入非洲联盟", "非洲联盟", ()),
    ("2016-01-23", "华盛顿遭遇百年一遇的暴风雪", None, ()),
    ("2016-05-01", "北京举行国际马拉松比赛", None, ()),
]


class CjkBlindEncoder(FakeEncoder):
    """FakeEncoder for Latin text; every mostly-CJK text lands next to one direction (cosine
    about 0.98 to any other), as an English-only model does with Chinese."""

    def encode(self, texts):
        vectors = super().encode(texts)
        cone = np.zeros(self.dimension, dtype=np.float32)
        cone[0] = 1.0
        for row, text in enumerate(texts):
            if question_script(text) == CJK:
                blended = cone + 0.15 * vectors[row]
                vectors[row] = blended / np.linalg.norm(blended)
        return vectors


async def zh_searcher(tmp_path, store, encoder) -> Searcher:
    events = [make_event(*row, n) for n, row in enumerate(ZH_EVENTS, start=100)]
    await add_events(store, [dataclasses.replace(e, lang="zh") for e in events])
    settings = make_settings(tmp_path)
    return await Searcher.load(
        settings.storage.index_dir, settings.embeddings, settings.search, store, encoder
    )


async def test_blind_dense_side_gives_the_keyword_ranking(tmp_path, sample_store):
    searcher = await zh_searcher(tmp_path, sample_store, CjkBlindEncoder())
    question = "摩洛哥加入非洲联盟"
    hybrid = await searcher.ask(question, k=5, lang="zh")
    keyword = await searcher.ask(question, k=5, lang="zh", mode="keyword")
    assert hybrid.hits[0].event.headline == "摩洛哥重新加入非洲联盟"
    assert [h.event.id for h in hybrid.hits] == [h.event.id for h in keyword.hits]
    assert all(h.dense is None for h in hybrid.hits)
    # Any Chinese question clears the cosine floor with this model; the bigram floor doesn't.
    unrelated = "火星上发现了外星人的城市"
    assert not (await searcher.ask(unrelated, lang="zh", mode="dense")).nothing_close
    assert (await searcher.ask(unrelated, lang="zh")).nothing_close
    # A paraphrase holding half of the question's bigrams is close enough.
    answer = await searcher.ask("智利点球大战赢了阿根廷，拿到美洲杯冠军", lang="zh")
    assert answer.hits[0].event.headline.startswith("智利在美洲杯决赛")
    # The news-feed filter follows the same rule.
    ids = [h.event.id for h in keyword.hits] + [h.event.id for h in answer.hits]
    assert await searcher.matching(unrelated, ids) == set()
    assert await searcher.matching(question, ids) == {hybrid.hits[0].event.id}


async def test_english_questions_keep_the_dense_side(tmp_path, sample_store):
    encoder = CjkBlindEncoder()
    searcher = await zh_searcher(tmp_path, sample_store, encoder)
    before = encoder.texts_encoded
    answer = await searcher.ask("cruise missiles fired from the Caspian", k=3)
    assert answer.hits[0].event.headline.startswith("Russian warships")
    assert answer.hits[0].dense is not None
    assert encoder.texts_encoded == before + 1  # the question only: Latin is not measured


async def test_a_model_that_reads_cjk_keeps_its_dense_side(tmp_path, sample_store):
    # FakeEncoder hashes each CJK run as a word: unrelated Chinese texts are at cosine ~0.
    searcher = await zh_searcher(tmp_path, sample_store, FakeEncoder())
    answer = await searcher.ask("摩洛哥重新加入非洲联盟", lang="zh")
    assert answer.hits[0].event.headline == "摩洛哥重新加入非洲联盟"
    assert answer.hits[0].dense is not None and answer.hits[0].dense > 0.35


async def test_a_script_first_seen_after_an_ingest_is_measured_then(tmp_path, sample_store):
    settings = make_settings(tmp_path)
    searcher = await Searcher.load(
        settings.storage.index_dir, settings.embeddings, settings.search, sample_store,
        CjkBlindEncoder(),
    )  # fmt: skip
    # No Chinese events to measure the model on: its dense side is kept (the default).
    assert await searcher._dense_informative("摩洛哥加入非洲联盟", searcher.index)
    events = [make_event(*row, n) for n, row in enumerate(ZH_EVENTS, start=100)]
    await add_events(sample_store, [dataclasses.replace(e, lang="zh") for e in events])
    await searcher.refresh()
    assert not await searcher._dense_informative("摩洛哥加入非洲联盟", searcher.index)
    answer = await searcher.ask("火星上发现了外星人的城市", lang="zh")
    assert answer.nothing_close
