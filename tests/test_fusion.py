import pytest

from embeddings.fusion import reciprocal_rank_fusion


def test_scores_are_sums_of_reciprocal_ranks():
    fused = dict(reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=10))
    assert fused[1] == pytest.approx(1 / 11 + 1 / 12)
    assert fused[2] == pytest.approx(1 / 12)
    assert fused[3] == pytest.approx(1 / 13 + 1 / 11)


def test_items_found_by_both_lists_rise_above_items_found_by_one():
    fused = reciprocal_rank_fusion([[7, 8, 9], [9, 5, 6]], k=60)
    assert fused[0][0] == 9
    assert [score for _, score in fused] == sorted((s for _, s in fused), reverse=True)


def test_each_item_once_at_its_best_rank():
    fused = reciprocal_rank_fusion([[4, 4, 5]], k=0)
    assert fused == [(4, 1.0), (5, pytest.approx(1 / 3))]


def test_ties_keep_first_seen_order():
    assert [i for i, _ in reciprocal_rank_fusion([[1], [2]], k=60)] == [1, 2]
    assert [i for i, _ in reciprocal_rank_fusion([[2], [1]], k=60)] == [2, 1]


def test_empty_and_bad_input():
    assert reciprocal_rank_fusion([[], []]) == []
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[1]], k=-1)
