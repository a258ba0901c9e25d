"""The embedding model on ONNX Runtime: a question is encoded without importing torch, so a fresh process answers in
seconds.

A sentence-transformers folder with mean pooling is exported once, with torch's own exporter, into
``settings.models_dir/onnx/<folder>-<fingerprint>/``:
- ``encoder.onnx``: the transformer from token embeddings to its last hidden state (inputs ``inputs_embeds``,
  ``attention_mask``);
- ``words.npy``: the word-embedding table, memory-mapped when loaded: a question touches a few of its 250k rows,
  and a session without it starts in a fraction of a second instead of seconds;
- ``tokenizer.json`` (the model's fast tokenizer) and ``export.json`` (source fingerprint, prompts, maximum length,
  and how close the exported model's vectors came to torch's on :data:`CHECK_TEXTS`);
- ``encoder-int8.onnx`` (dynamic int8 quantisation) and ``bulk.json`` (which backend encodes passages fastest on
  this machine, measured at first use under ``BOOKQA_EMBEDDING_BACKEND=auto``).
:class:`OnnxEmbedder` is the session plus the tokenizer, mean pooling and normalisation.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import platform
import shutil
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from bookqa.errors import ModelError
from bookqa.files import FileLock, read_json, swap_folder, temporary_folder, write_json
from bookqa.index.embedders import PROMPT_NAMES, PASSAGE, QUERY, SINGLE_THREAD_CALL, Embedder, Progress, model_fingerprint

if TYPE_CHECKING:
    from bookqa.config import Settings

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1
"""Bump when the export changes, so existing exports are made again."""
ENCODER, ENCODER_INT8, WORDS, TOKENIZER, EXPORT, BULK = (
    "encoder.onnx", "encoder-int8.onnx", "words.npy", "tokenizer.json", "export.json", "bulk.json"
)
MAX_EXPORT_DIFFERENCE = 1e-3
"""Largest difference of a vector component between the export and torch on the check texts (fp32: ~1e-6)."""
INT8_MIN_COSINE = 0.995
"""Int8 passages are used only where each is at least this close to torch's vector: the low-confidence threshold
is calibrated to a few thousandths of similarity."""
INT8_MIN_SPEEDUP = 1.2
"""...and where they encode at least this much faster than torch."""
CHECK_TEXTS = (
    "什么是稠密连接网络？",
    "卷积神经网络的池化层有什么作用",
    "How does backpropagation compute gradients?",
    "7 现代卷积神经网络 > 7.7 稠密连接网络（DenseNet）\n稠密连接网络在跨层连接上与 ResNet 不同：输出在通道维上连结，而不是相加。",
    "def softmax(X):\n    X_exp = torch.exp(X)\n    return X_exp / X_exp.sum(1, keepdim=True)",
    "梯度下降 " * 400,  # longer than the model's limit: truncation must agree
)
_MEASURE_PARAGRAPHS = (
    "在深度学习中，我们通常用小批量随机梯度下降来训练模型。每一步，我们随机抽取一个小批量样本，计算损失函数关于模型参数的梯度，"
    "然后沿着负梯度的方向更新参数。学习率决定了每一步走多远，太大会发散，太小则收敛缓慢。",
    "A convolutional layer cross-correlates the input and a kernel and adds a scalar bias to produce an output. The two "
    "parameters of a convolutional layer are the kernel and the scalar bias, initialised randomly before training.",
    "class Residual(nn.Module):\n    def __init__(self, num_channels):\n        super().__init__()\n"
    "        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)\n    def forward(self, X):\n"
    "        return F.relu(self.conv1(X) + X)",
    "注意力机制让模型在每一步都能关注输入序列中最相关的部分。查询与键的相似度经过 softmax 归一化后成为权重，再对值加权求和。",
)


def unsupported(location: str) -> str | None:
    """Why the model at ``location`` cannot run here (a sentence), or None when it can: a local sentence-transformers
    folder with a fast tokenizer and mean pooling."""
    folder = Path(location)
    if importlib.util.find_spec("onnxruntime") is None:
        return "the onnxruntime package is not installed (pip install -r requirements.txt)"
    if not folder.is_dir():
        return "it is not a local model folder (a Hugging Face id is run by torch)"
    if not (folder / "config.json").is_file() or not (folder / TOKENIZER).is_file():
        return "the folder lacks config.json or tokenizer.json"
    pooling = next(iter(sorted(folder.glob("*Pooling*/config.json"))), None)
    config = read_json(pooling) if pooling else {}
    if not (config.get("pooling_mode") == "mean" or config.get("pooling_mode_mean_tokens")):
        return "its pooling is not mean pooling"
    return None


class OnnxEmbedder:
    """An :class:`Embedder` on an exported model folder (see the module docstring).

    ``folder``: the export. ``name``: what a book's manifest records. ``quantized``: run ``encoder-int8.onnx``
    (backend ``onnx-int8``) instead of the fp32 encoder. ``threads``: ONNX Runtime's intra-op threads (0: all
    cores); calls of at most SINGLE_THREAD_CALL texts (a query) run on a one-thread session of their own.
    ``batch_size``: texts per forward pass, longest first (so batches carry little padding).
    """

    def __init__(self, folder: Path, name: str, quantized: bool = False, threads: int = 0, batch_size: int = 32) -> None:
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        meta = read_json(self.folder / EXPORT)
        self.name = name
        self.dim = int(meta["dim"])
        self.fingerprint = str(meta["source"])
        self.backend = "onnx-int8" if quantized else "onnx"
        self.batch_size = batch_size
        self.max_length = int(meta["max_length"])
        self.prompts = dict(meta["prompts"])
        self._words = np.load(self.folder / WORDS, mmap_mode="r")
        self._tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER))
        self._tokenizer.enable_truncation(self.max_length)
        self._tokenizer.no_padding()
        self._encoder = self.folder / (ENCODER_INT8 if quantized else ENCODER)
        self._threads = threads
        self._sessions: dict[int, object] = {}

    def prompt(self, kind: str) -> str | None:
        """The model's prompt for ``kind`` (``query``; ``passage`` or ``document``), or None."""
        if kind not in PROMPT_NAMES:
            raise ValueError(f"kind must be {QUERY!r} or {PASSAGE!r}, got {kind!r}.")
        return next((self.prompts[name] for name in PROMPT_NAMES[kind] if self.prompts.get(name)), None)

    def token_counts(self, texts: Sequence[str], prompt: str | None) -> np.ndarray:
        """Tokens per text with ``prompt``, special tokens included, after truncation."""
        return np.array([len(e.ids) for e in self._tokenizer.encode_batch([(prompt or "") + t for t in texts])], dtype=np.int64)

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray:
        """Embed ``texts`` as ``kind``: an ``(n, dim)`` float32 array of unit rows."""
        prompt = self.prompt(kind)
        encodings = self._tokenizer.encode_batch([(prompt or "") + text for text in texts])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        session = self._session(1 if len(texts) <= SINGLE_THREAD_CALL else self._threads)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                ids[j, : len(encodings[i].ids)] = encodings[i].ids
                mask[j, : len(encodings[i].ids)] = 1
            hidden = session.run(None, {"inputs_embeds": self._words[ids], "attention_mask": mask})[0]  # type: ignore[attr-defined]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            if progress:
                progress(start + len(rows), len(texts))
        return out

    def _session(self, threads: int) -> object:
        if threads not in self._sessions:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._sessions[threads] = onnxruntime.InferenceSession(str(self._encoder), options, providers=["CPUExecutionProvider"])
        return self._sessions[threads]


def load(settings: Settings, location: Path, purpose: str, load_torch: Callable[[], Embedder]) -> Embedder | None:
    """The ONNX embedder of the model folder at ``location`` for ``purpose``, exported first when needed
    (``load_torch()`` gives the torch embedder for the export's check and for the measurement); None when, under
    ``auto``, torch should encode (passages where it measured fastest, or an export that failed its check)."""
    from bookqa.config import EmbeddingBackend

    folder = Path(settings.models_dir) / "onnx" / f"{location.name}-{model_fingerprint(location)}"
    auto = settings.embedding_backend == EmbeddingBackend.AUTO
    torch_embedder: list[Embedder] = []

    def torch_once() -> Embedder:
        if not torch_embedder:
            torch_embedder.append(load_torch())
        return torch_embedder[0]

    try:
        ensure_export(location, folder, torch_once)
    except ModelError as error:
        if not auto:
            raise
        log.warning("%s Encoding on torch instead.", error)
        return None
    batch = settings.embedding_batch_size
    if purpose == QUERY:
        return OnnxEmbedder(folder, settings.embedding_model, threads=1, batch_size=batch)
    if not auto:
        return OnnxEmbedder(folder, settings.embedding_model, batch_size=batch)
    choice = bulk_backend(folder, settings.embedding_model, torch_once, batch)
    if choice == "torch":
        return torch_embedder[0] if torch_embedder else None
    return OnnxEmbedder(folder, settings.embedding_model, quantized=choice == "onnx-int8", batch_size=batch)


def ensure_export(location: Path, folder: Path, load_torch: Callable[[], Embedder]) -> Path:
    """The export of ``location`` in ``folder``, made (with torch) and checked against ``load_torch()``'s vectors when
    missing or stale; raises :class:`ModelError` when the export fails or its vectors are not torch's. Concurrent
    first uses wait for each other."""
    if _current(folder, location):
        return folder
    with FileLock(folder.parent / f".{folder.name}.lock"):
        if _current(folder, location):
            return folder
        started = time.perf_counter()
        log.warning("Exporting the embedding model to ONNX once (%s); this takes a minute or two.", folder)
        tmp = temporary_folder(folder.parent, folder.name)
        try:
            meta = _export(location, tmp)
            write_json(tmp / EXPORT, meta)  # what the check's OnnxEmbedder reads
            check = _check(tmp, load_torch())
            if check["max_abs_difference"] > MAX_EXPORT_DIFFERENCE:
                raise ModelError(
                    f"The ONNX export of {location} gives other vectors than torch (difference {check['max_abs_difference']:.2g}).",
                    "Set BOOKQA_EMBEDDING_BACKEND=torch.",
                )
            write_json(tmp / EXPORT, dict(meta, check=check, seconds=round(time.perf_counter() - started, 1)))
            swap_folder(tmp, folder)
        except OSError as exc:
            raise ModelError(f"Could not write the ONNX export to {folder}: {exc}.", "Free some disk space or set BOOKQA_DATA_DIR.") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log.warning("Exported the embedding model in %.0f s (largest difference to torch %.1g).", time.perf_counter() - started, check["max_abs_difference"])
    return folder


def _current(folder: Path, location: Path) -> bool:
    try:
        meta = read_json(folder / EXPORT)
    except (OSError, ValueError):
        return False
    return meta.get("format") == EXPORT_FORMAT and meta.get("source") == model_fingerprint(location)


def _export(location: Path, target: Path) -> dict[str, object]:
    """Write ``encoder.onnx``, ``words.npy`` and ``tokenizer.json`` of the model at ``location`` into ``target``;
    returns what ``export.json`` records about it."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelError(f"Exporting the embedding model to ONNX needs torch and transformers ({exc}).", "Install the requirements.") from None

    class Encoder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    model = AutoModel.from_pretrained(str(location)).eval()
    words = model.get_input_embeddings().weight.detach()
    np.save(target / WORDS, words.numpy().astype(np.float32), allow_pickle=False)
    shutil.copyfile(location / TOKENIZER, target / TOKENIZER)
    example = (words[None, :5].clone(), torch.ones((1, 5), dtype=torch.int64))
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=int(model.config.max_position_embeddings))
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _quiet("torch.onnx", "torch._dynamo", "torch.export"):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder(model).eval(), example, str(target / ENCODER), input_names=["inputs_embeds", "attention_mask"],
            output_names=["last_hidden_state"], dynamic_shapes={"inputs_embeds": {0: batch, 1: sequence}, "attention_mask": {0: batch, 1: sequence}},
            dynamo=True, external_data=False,
        )
    prompts = _read(location / "config_sentence_transformers.json").get("prompts", {})
    limit = _read(location / "sentence_bert_config.json").get("max_seq_length") or _read(location / "tokenizer_config.json").get("model_max_length")
    return {
        "format": EXPORT_FORMAT,
        "source": model_fingerprint(location),
        "dim": int(words.shape[1]),
        "max_length": int(min(limit or 10**6, model.config.max_position_embeddings)),
        "prompts": prompts,
        "torch": torch.__version__,
        "onnxruntime": importlib.metadata.version("onnxruntime"),
    }


def _check(folder: Path, reference: Embedder) -> dict[str, float]:
    """How close the export's vectors come to ``reference``'s on :data:`CHECK_TEXTS`, as queries and as passages."""
    exported = OnnxEmbedder(folder, reference.name)
    differences, cosines = [], []
    for kind in (QUERY, PASSAGE):
        ours, theirs = exported.embed(CHECK_TEXTS, kind), reference.embed(CHECK_TEXTS, kind)
        differences.append(float(np.abs(ours - theirs).max()))
        cosines.append(float((ours * theirs).sum(axis=1).min()))
    return {"texts": len(CHECK_TEXTS) * 2, "max_abs_difference": max(differences), "min_cosine": min(cosines)}


def bulk_backend(folder: Path, name: str, load_torch: Callable[[], Embedder], batch_size: int) -> str:
    """Which backend encodes passages on this machine under ``auto``: ``torch``, or ``onnx-int8`` where dynamic int8
    is at least INT8_MIN_SPEEDUP faster than torch and every vector at least INT8_MIN_COSINE close to torch's.
    Measured once per machine and library versions on a sample of textbook-like passages, recorded in ``bulk.json``."""
    machine = _machine()
    try:
        recorded = read_json(folder / BULK)
        if recorded.get("machine") == machine:
            return str(recorded["choice"])
    except (OSError, ValueError, KeyError):
        pass
    with FileLock(folder.parent / f".{folder.name}.lock"):
        reference = load_torch()
        _quantize(folder)
        int8 = OnnxEmbedder(folder, name, quantized=True, batch_size=batch_size)
        texts = measure_texts()
        seconds, vectors = {}, {}
        for label, embedder in (("torch", reference), ("onnx-int8", int8)):
            embedder.embed(texts[:2])  # warm up
            started = time.perf_counter()
            vectors[label] = embedder.embed(texts)
            seconds[label] = time.perf_counter() - started
        cosine = float((vectors["torch"] * vectors["onnx-int8"]).sum(axis=1).min())
        speedup = seconds["torch"] / seconds["onnx-int8"]
        choice = "onnx-int8" if speedup >= INT8_MIN_SPEEDUP and cosine >= INT8_MIN_COSINE else "torch"
        write_json(folder / BULK, {
            "machine": machine, "choice": choice, "passages": len(texts),
            "seconds": {k: round(v, 2) for k, v in seconds.items()}, "int8_speedup": round(speedup, 3),
            "int8_min_cosine": round(cosine, 4), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
    log.warning("Passages encode on %s here (int8 %.2fx torch's speed, min cosine %.3f).", choice, speedup, cosine)
    return choice


def measure_texts() -> list[str]:
    """32 passages of about 300 tokens mixing Chinese, English and code, for :func:`bulk_backend`."""
    paragraphs = _MEASURE_PARAGRAPHS
    return ["\n".join(paragraphs[(i + j) % len(paragraphs)] for j in range(2 + i % 3)) for i in range(32)]


def _quantize(folder: Path) -> None:
    if (folder / ENCODER_INT8).is_file():
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic

    part = folder / f".{ENCODER_INT8}.part"
    with _quiet(""):  # the quantiser suggests pre-processing on the root logger
        quantize_dynamic(str(folder / ENCODER), str(part), weight_type=QuantType.QInt8)
    os.replace(part, folder / ENCODER_INT8)


def _machine() -> dict[str, object]:
    """What a measured choice depends on: the processor, its cores and the libraries' versions."""
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), cpu)
    versions = {}
    for package in ("torch", "onnxruntime"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return {"cpu": cpu, "cores": os.cpu_count(), **versions}


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def _quiet(*names: str):
    """Loggers ``names`` at ERROR for the duration (the exporter reports each pass)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
