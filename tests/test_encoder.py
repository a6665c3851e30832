import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings.encoder import Encoder, FakeEncoder, model_location


def test_fake_encoder_is_deterministic_normalised_and_word_based():
    encoder = FakeEncoder(dimension=32)
    assert isinstance(encoder, Encoder)
    vectors = encoder.encode(["Floods in Chennai", "floods in chennai", "stock market rally"])
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[1])
    np.testing.assert_array_equal(FakeEncoder(32).encode(["x y"]), encoder.encode(["x y"]))
    assert float(vectors[0] @ vectors[2]) < 0.5
    assert encoder.texts_encoded == 4


def test_default_model_resolves_to_the_packaged_copy_other_names_pass_through():
    path = model_location("all-MiniLM-L6-v2")
    assert isinstance(path, str) and Path(path).is_dir()
    assert model_location("sentence-transformers/all-MiniLM-L6-v2") == path
    assert model_location("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"


def test_importing_the_search_layer_stays_light():
    code = (
        "import sys, embeddings.search, embeddings.indexing, dateline.commands.search_cmds\n"
        "heavy = {'torch', 'faiss', 'sentence_transformers', 'discord'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.real_model
def test_real_model_embeds_meaning(real_encoder):
    assert real_encoder.model_name == "all-MiniLM-L6-v2"
    assert real_encoder.dimension == 384
    vectors = real_encoder.encode(
        [
            "Russian warships launch cruise missiles at targets in Syria",
            "Russia's navy fires missiles against Islamic State",
            "A new flag design is put to a vote in New Zealand",
        ]
    )
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2
    assert real_encoder.encode([]).shape == (0, 384)
