"""Encoders turn texts into L2-normalised float32 vectors (so inner product = cosine).

``load_encoder(settings, models)`` gives the configured one: by default the ONNX export of the model
run by onnxruntime (``embeddings.onnx_encoder``; exported on first use, which needs torch once),
or sentence-transformers (``[embeddings] backend = "torch"``). ``FakeEncoder`` is
deterministic, instant and dependency-free, for tests of everything around the model.

Every encoder names its ``variant`` ("onnx-int8", "onnx-fp32", "torch-fp32", ...): vectors of
two variants differ slightly, so an index records the variant that built it and is rebuilt
when another one is configured.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from embeddings import _lazy
from embeddings.settings import BACKENDS, DEFAULT_MODEL, OFFLINE_MODELS, EmbeddingSettings

log = logging.getLogger(__name__)
__all__ = ["BACKENDS", "DEFAULT_MODEL", "Encoder", "FakeEncoder", "load_encoder"]


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts; ``encode`` returns an (n, dimension) float32 array whose
    rows have unit length."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def variant(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray:
        """One question's vector (an encoder may use a more exact path for it)."""
        ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def model_location(name: str) -> str:
    """What to hand SentenceTransformer: the packaged offline copy for the default model,
    any other name or path unchanged."""
    return _lazy.offline_model_path() if name in OFFLINE_MODELS else name


class SentenceTransformerEncoder:
    """The real encoder. Thread-safe: one encode at a time (torch already uses every core)."""

    def __init__(self, model_name: str, *, device: str = "cpu", batch_size: int = 64) -> None:
        location = model_location(model_name)  # before the import: it sets HF_HUB_OFFLINE
        model_class = _lazy.sentence_transformer_class()
        self._model = model_class(location, device=device)
        self._name = model_name
        self._batch_size = batch_size
        # sentence-transformers 6 renamed the method; older versions only have the long name.
        dimension_of = getattr(self._model, "get_embedding_dimension", None)
        dimension = (dimension_of or self._model.get_sentence_embedding_dimension)()
        if dimension is None:
            raise ValueError(f"model {model_name!r} does not say its embedding dimension")
        self._dimension = int(dimension)
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def variant(self) -> str:
        return "torch-fp32"

    @property
    def model(self) -> object:
        """The underlying SentenceTransformer (for benchmarks)."""
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return normalise(vectors)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def load_encoder(embeddings: EmbeddingSettings, models: Path | None = None) -> Encoder:
    """The configured encoder (slow: loads a model; call in a thread).

    With the ONNX backend the export is cached under ``models`` (the storage folder's
    ``models``, ``StorageSettings.models_dir``); only the first call exports, and only that
    imports torch. Falls back to sentence-transformers, with a warning, when onnxruntime is
    not installed. (Backend and quantization were checked when the settings were loaded.)
    """
    if embeddings.backend == "onnx":
        from embeddings import onnx_encoder

        if models is None:
            raise ValueError("the ONNX backend needs a folder to cache its export in")
        try:
            return load_onnx_encoder(embeddings, models)
        except onnx_encoder.OnnxUnavailable as exc:
            log.warning("ONNX encoder unavailable (%s): using sentence-transformers", exc)
    return SentenceTransformerEncoder(
        embeddings.model, device=embeddings.device, batch_size=embeddings.batch_size
    )


def load_onnx_encoder(settings: EmbeddingSettings, models: Path) -> Encoder:
    """The ONNX encoder for ``settings.model``, exporting it into ``models`` first if needed."""
    from embeddings import onnx_encoder

    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise onnx_encoder.OnnxUnavailable("onnxruntime is not installed") from exc
    location = model_location(settings.model)
    directory = onnx_encoder.export_dir(models, settings.model, location)
    if not onnx_encoder.is_exported(directory):
        log.warning("exporting %s to ONNX in %s (once; about 15 s)", settings.model, directory)
        onnx_encoder.export_model(location, directory)
    return onnx_encoder.OnnxEncoder(
        directory,
        settings.model,
        quantization=settings.quantization,
        threads=settings.threads,
        batch_size=settings.batch_size,
    )


_WORD = re.compile(r"\w+")


class FakeEncoder:
    """Deterministic bag-of-words encoder for tests: each lower-cased word is hashed to a few
    signed buckets, so texts sharing words have a high cosine and unrelated texts about 0."""

    def __init__(self, dimension: int = 256, model_name: str = "fake-words") -> None:
        self._dimension = dimension
        self._name = model_name
        self.calls: list[int] = []  # batch sizes seen, so tests can count what was embedded

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def variant(self) -> str:
        return "fake"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
                for i in range(2):
                    bucket = digest[2 * i] % self._dimension
                    sign = 1.0 if digest[2 * i + 1] & 1 else -1.0
                    vectors[row, bucket] += sign
        return normalise(vectors)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    @property
    def texts_encoded(self) -> int:
        return sum(self.calls)
