"""The ONNX encoder: the sentence-transformers model exported once, then run by onnxruntime.

Serving with it needs neither torch nor sentence-transformers: onnxruntime runs the graph and
the model's own fast tokenizer (``tokenizers``, from its ``tokenizer.json``) prepares the input.

**Export** (``export_model``; the only step that imports torch): the transformer is wrapped in
a module whose ``forward(input_ids, attention_mask)`` returns the mean-pooled, L2-normalised
embedding (what sentence-transformers computes for all-MiniLM-L6-v2), traced with
``torch.onnx.export`` at a padded example (so the attention mask stays in the graph), and its
weights quantised to int8 with onnxruntime's dynamic quantisation, one scale per output
channel (per-tensor scales cost too much accuracy: mean cosine to fp32 0.96 instead of 0.99).
Before anything is kept, both graphs are checked against sentence-transformers on probe texts.

**Cache** (``export_dir``): ``<storage dir>/models/<model name>-<hash of its weights>/`` holds
``model-fp32.onnx``, ``model-int8.onnx``, ``tokenizer.json`` and ``export.json`` (written last:
a folder without it is incomplete). The folder is built under a temporary name and renamed into
place, so two processes exporting at once never see half a folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoder import normalise

log = logging.getLogger(__name__)

EXPORT_FILE = "export.json"
QUANTIZATIONS = ("int8", "fp32")
EXPORT_VERSION = 1
DEFAULT_MAX_TOKENS = 256
# Word pieces per onnxruntime call at most (estimated from characters: a piece is rarely
# shorter than 3 characters of English). Smaller calls also ran faster here (cache-sized
# activations): 4,096 beat 8,192 and unlimited in bench runs.
_TOKEN_BUDGET = 4096
_PROBES = (
    "Russian warships launch cruise missiles at targets in Syria",
    "Floods",
    "A new flag design is put to a vote in New Zealand after a long debate about the old one",
)
# Cosine of each probe's ONNX vector to sentence-transformers' vector, at least.
_MIN_COSINE = {"fp32": 0.999, "int8": 0.97}


class OnnxUnavailable(Exception):
    """The ONNX encoder can't be used here (onnxruntime missing, a model it can't export)."""


def _weights_digest(location: str) -> str:
    """Hash of the model's weight files (or of its name when it is not a local folder)."""
    digest = hashlib.blake2b(digest_size=8)
    folder = Path(location)
    weights = (
        sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
        if folder.is_dir()
        else []
    )
    if not weights:
        digest.update(location.encode("utf-8"))
    for path in weights:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
    return digest.hexdigest()


def export_dir(models_dir: Path, model_name: str, location: str) -> Path:
    """Where the export of ``model_name`` (loaded from ``location``) is cached."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_") or "model"
    return models_dir / f"{safe}-{_weights_digest(location)}"


def is_exported(directory: Path) -> bool:
    return (directory / EXPORT_FILE).is_file()


def _max_tokens(location: str) -> int:
    config = Path(location) / "sentence_bert_config.json"
    try:
        return int(json.loads(config.read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MAX_TOKENS


def export_model(location: str, directory: Path) -> Path:
    """Export the sentence-transformers model at ``location`` into ``directory`` (fp32 and
    int8 graphs, tokenizer, metadata). Slow (about 10 s) and imports torch: done once."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from embeddings import _lazy

    model = _lazy.sentence_transformer_class()(location, device="cpu")
    names = [type(module).__name__ for module in model]
    pooling = model[1] if len(model) > 1 else None
    # sentence-transformers 6 says pooling_mode = "mean"; older versions a flag per mode.
    mode = getattr(pooling, "pooling_mode", None) == "mean" or bool(
        getattr(pooling, "pooling_mode_mean_tokens", False)
    )
    if names[:1] != ["Transformer"] or not mode or not set(names[2:]) <= {"Normalize"}:
        raise OnnxUnavailable(
            f"only transformer + mean pooling (+ normalise) models export to ONNX, not {names}"
        )
    transformer = model[0].auto_model
    if hasattr(transformer, "set_attn_implementation"):
        transformer.set_attn_implementation("eager")  # sdpa traces into a fixed-mask graph
    tokenizer = getattr(model.tokenizer, "backend_tokenizer", None)
    if tokenizer is None:
        raise OnnxUnavailable("the model has no fast tokenizer (tokenizer.json)")

    class Pooled(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        example = torch.tensor([[101, 2023, 2003, 1037, 102], [101, 2023, 102, 0, 0]])
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes and the legacy-exporter notice
            torch.onnx.export(
                Pooled(transformer).eval(),
                (example, (example != 0).long()),
                str(work / "model-fp32.onnx"),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        logging.getLogger().disabled = True  # "consider pre-processing" from quantize
        try:
            quantize_dynamic(
                str(work / "model-fp32.onnx"),
                str(work / "model-int8.onnx"),
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
        finally:
            logging.getLogger().disabled = False
        tokenizer.save(str(work / "tokenizer.json"))
        max_tokens = int(getattr(model, "max_seq_length", None) or _max_tokens(location))
        reference = model.encode(list(_PROBES), normalize_embeddings=True, convert_to_numpy=True)
        for quantization in QUANTIZATIONS:
            probe = OnnxEncoder(work, "probe", quantization=quantization, threads=1)
            cosines = np.sum(probe.encode(list(_PROBES)) * reference, axis=1)
            if float(cosines.min()) < _MIN_COSINE[quantization]:
                raise OnnxUnavailable(
                    f"the {quantization} ONNX export differs from the model (cosine"
                    f' {float(cosines.min()):.3f}): use backend = "torch"'
                )
        meta = {
            "version": EXPORT_VERSION,
            "location": location,
            "dimension": int(reference.shape[1]),
            "max_tokens": max_tokens,
        }
        (work / EXPORT_FILE).write_text(json.dumps(meta), encoding="utf-8")
        work.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        try:
            os.rename(work, directory)
        except OSError:
            if not is_exported(directory):  # not another process's finished export: retry
                shutil.rmtree(directory, ignore_errors=True)
                os.rename(work, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return directory


class OnnxEncoder:
    """Encodes with an exported model folder. Thread-safe: one encode at a time, and
    onnxruntime uses ``threads`` cores within it."""

    def __init__(
        self,
        directory: Path,
        model_name: str,
        *,
        quantization: str = "int8",
        threads: int = 0,
        batch_size: int = 64,
    ) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise OnnxUnavailable(f"onnxruntime or tokenizers is not installed ({exc})") from exc
        if quantization not in QUANTIZATIONS:
            raise ValueError(f"quantization must be one of {QUANTIZATIONS}, not {quantization!r}")
        meta_path = directory / EXPORT_FILE
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        self._runtime = onnxruntime
        self._directory = directory
        self._threads = threads if threads > 0 else (os.cpu_count() or 1)
        self._sessions: dict[str, Any] = {}
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._max_tokens = int(meta.get("max_tokens", DEFAULT_MAX_TOKENS))
        self._tokenizer.enable_truncation(self._max_tokens)
        self._tokenizer.no_padding()
        self._name = model_name
        self._quantization = quantization
        self._batch_size = max(1, batch_size)
        self._lock = threading.Lock()
        self._dimension = int(meta.get("dimension") or self.encode_query(_PROBES[1]).shape[0])

    def _session(self, quantization: str) -> Any:
        """The graph of ``quantization``, loaded on first use (a server that only answers
        questions never loads the int8 graph)."""
        session = self._sessions.get(quantization)
        if session is None:
            options = self._runtime.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            # Idle threads sleep instead of spinning: on a machine shared with other work (or
            # the bot's event loop) spinning burns the cores the next batch needs.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.graph_optimization_level = self._runtime.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = self._runtime.InferenceSession(
                str(self._directory / f"model-{quantization}.onnx"),
                options,
                providers=["CPUExecutionProvider"],
            )
            self._sessions[quantization] = session
        return session

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def variant(self) -> str:
        return f"onnx-{self._quantization}"

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def _run(self, texts: Sequence[str], quantization: str) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        session = self._session(quantization)
        (vectors,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Documents, with the configured weights (int8 by default), in batches."""
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        # Batches of similar length (each is padded to its longest text), and of at most
        # _TOKEN_BUDGET word pieces: attention holds batch x 12 x length^2 floats, so 64 texts
        # of 256 pieces would take ~200 MB per layer's scores.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        result = np.zeros((len(texts), self._dimension), dtype=np.float32)
        with self._lock:
            start = 0
            while start < len(order):
                size = self._batch_size
                while size > 1:
                    longest = len(texts[order[min(start + size, len(order)) - 1]])
                    if size * min(self._max_tokens, longest // 3 + 2) <= _TOKEN_BUDGET:
                        break
                    size //= 2
                batch = order[start : start + size]
                result[batch] = self._run([texts[i] for i in batch], self._quantization)
                start += size
        return normalise(result)

    def encode_query(self, text: str) -> np.ndarray:
        """One question, always with the fp32 weights: a short text costs a few ms either
        way, and keeping the question exact keeps the ranking equal to sentence-transformers'
        (bench/eval.py: int8 on both sides lost one Recall@5 hit of 45)."""
        with self._lock:
            return normalise(self._run([text], "fp32"))[0]
