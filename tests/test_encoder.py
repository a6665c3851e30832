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


# ----- the ONNX encoder ------------------------------------------------------------------


@pytest.fixture(scope="session")
def onnx_export(tmp_path_factory) -> Path:
    """The default model exported once for the session (imports torch in this process)."""
    from embeddings import onnx_encoder

    location = model_location("all-MiniLM-L6-v2")
    models = tmp_path_factory.mktemp("models")
    directory = onnx_encoder.export_dir(models, "all-MiniLM-L6-v2", location)
    return onnx_encoder.export_model(location, directory)


def test_export_folder_is_keyed_by_model_name_and_weights(tmp_path):
    from embeddings.onnx_encoder import export_dir

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights one")
    first = export_dir(tmp_path / "models", "org/my model", str(model))
    assert first.parent == tmp_path / "models" and first.name.startswith("org_my_model-")
    assert export_dir(tmp_path / "models", "org/my model", str(model)) == first
    (model / "model.safetensors").write_bytes(b"weights two")
    assert export_dir(tmp_path / "models", "org/my model", str(model)) != first


@pytest.mark.real_model
def test_onnx_export_matches_sentence_transformers(onnx_export, real_encoder):
    from embeddings.onnx_encoder import OnnxEncoder

    texts = [
        "Russian warships launch cruise missiles at targets in Syria",
        "Russia's navy fires missiles against Islamic State",
        "A new flag design is put to a vote in New Zealand",
        "Floods",
    ]
    reference = real_encoder.encode(texts)
    fp32 = OnnxEncoder(onnx_export, "all-MiniLM-L6-v2", quantization="fp32")
    int8 = OnnxEncoder(onnx_export, "all-MiniLM-L6-v2", quantization="int8", batch_size=2)
    assert (fp32.variant, int8.variant, int8.dimension, int8.max_tokens) == (
        "onnx-fp32", "onnx-int8", 384, 256,
    )  # fmt: skip
    assert np.sum(fp32.encode(texts) * reference, axis=1).min() > 0.999
    vectors = int8.encode(texts)
    assert np.sum(vectors * reference, axis=1).min() > 0.98
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2
    # Padding is masked: a text encodes the same alone as beside longer ones (exactly in fp32;
    # int8 scales activations per batch, so there only nearly).
    np.testing.assert_allclose(fp32.encode(texts[3:])[0], fp32.encode(texts)[3], atol=1e-5)
    assert float(int8.encode(texts[3:])[0] @ vectors[3]) > 0.98
    # Truncated at 256 word pieces like the model: words past them change nothing.
    long = "the parliament debates the budget " * 200
    np.testing.assert_allclose(
        int8.encode([long])[0], int8.encode([long + " volcano eruption"])[0], atol=1e-5
    )
    assert int8.encode([]).shape == (0, 384)
    # Questions go through the fp32 graph whatever the documents use.
    assert float(int8.encode_query(texts[0]) @ reference[0]) > 0.999


@pytest.mark.real_model
def test_serving_with_the_onnx_backend_never_imports_torch(onnx_export, tmp_path):
    """`dateline ask` and the resources `dateline run` and the preview open: no torch."""
    import asyncio

    from archive.store import Store
    from embeddings import onnx_encoder
    from embeddings.encoder import load_encoder
    from embeddings.indexing import build_index
    from tests.search_fixtures import SAMPLE_EVENTS, add_events, make_event

    data = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndir = "{data}"\n')
    settings = __import__("dateline.config", fromlist=["load_settings"]).load_settings(config)
    cached = onnx_encoder.export_dir(
        data / "models", "all-MiniLM-L6-v2", model_location("all-MiniLM-L6-v2")
    )
    cached.parent.mkdir(parents=True)
    cached.symlink_to(onnx_export, target_is_directory=True)

    async def prepare() -> None:
        async with Store.open(settings.storage.database) as store:
            await add_events(store, [make_event(*row, n) for n, row in enumerate(SAMPLE_EVENTS)])
            encoder = load_encoder(settings.embeddings, settings.storage.models_dir)
            assert encoder.variant == "onnx-int8"
            await build_index(settings.storage.index_dir, settings.embeddings, store, encoder)

    asyncio.run(prepare())
    code = f"""
import asyncio, sys
from pathlib import Path
from dateline.cli import main
assert main(["--config", {str(config)!r}, "ask", "cruise missiles in the Caspian Sea"]) == 0
from bot.runner import open_resources
from dateline.config import load_settings

async def serve():
    async with open_resources(load_settings(Path({str(config)!r}))) as (store, _, searcher):
        answer = await searcher.ask("floods in Chennai")
        print("HIT", answer.hits[0].event.headline)

asyncio.run(serve())
print("HEAVY", sorted({{"torch", "sentence_transformers", "transformers"}} & set(sys.modules)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Russian warships fire cruise missiles" in out.stdout
    assert "HIT Floods cut power to a Chennai hospital" in out.stdout
    assert "HEAVY []" in out.stdout


@pytest.mark.parametrize(("key", "value"), [("backend", "tensorflow"), ("quantization", "int4")])
def test_an_unknown_backend_or_quantization_is_a_config_error(key, value):
    from dateline.config import ConfigError, settings_from_dict

    with pytest.raises(ConfigError, match=rf"\[embeddings\] {key} must be one of"):
        settings_from_dict({"embeddings": {key: value}})
