"""The model's background cosine per script (embeddings.script); its use: test_search.py."""

import numpy as np
import pytest

from embeddings.script import CJK, background_cosine, question_script


def test_question_script():
    assert question_script("摩洛哥重新加入非洲联盟") == CJK
    assert question_script("苹果的iPad是什么时候推出的？") == CJK  # 12 CJK, 4 Latin letters
    assert question_script("Russian cruise missiles") is None
    assert question_script("iPhone 6 发布") is None  # more Latin letters than CJK
    assert question_script("2015") is None


def test_background_cosine_is_the_mean_over_distinct_pairs():
    assert background_cosine(np.eye(3, dtype=np.float32)) == pytest.approx(0.0)
    same = np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (4, 1))
    assert background_cosine(same) == pytest.approx(1.0)
    rows = np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)
    assert background_cosine(rows) == pytest.approx((0 + 0.6 + 0.8) / 3)
    with pytest.raises(ValueError):
        background_cosine(rows[:1])
