"""Everything the app loads once per process and shares, read-only, between sessions.

Settings, the library and its background vector builds, the query embedder, each opened book, the answer backend
and rendered page images live here behind ``st.cache_resource`` / ``st.cache_data``. The first load of a model
shows an ``st.status`` box in the page that asked for it; later calls return at once.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

import streamlit as st

from bookqa.config import Settings
from bookqa.errors import BookQAError
from bookqa.library.book import Book, Manifest
from bookqa.library.builds import VectorBuilds
from bookqa.library.store import Library

if TYPE_CHECKING:  # the embedding model (numpy, torch), the answer side, retrieval and PyMuPDF load when first used
    from bookqa.answering.backends import Backend
    from bookqa.index.embedders import Embedder
    from bookqa.index.retriever import Scope
    from bookqa.types import Hit

T = TypeVar("T")

_ready: set[str] = set()
"""Names of the resources whose first load has finished in this process."""
_ready_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The settings from the ``BOOKQA_*`` environment (raises SettingsError for an unusable value)."""
    return Settings.from_env()


@st.cache_resource(show_spinner=False)
def library() -> Library:
    """The library in ``settings().data_dir``."""
    return Library(settings())


@st.cache_resource(show_spinner=False)
def builds() -> VectorBuilds:
    """The vector steps running in this process's background, one per book, owned with the library: an upload
    hands its second step here, and a book whose vectors were interrupted is resumed when a session shows it."""

    def passage_embedder() -> Embedder:
        from bookqa.index.embedders import load_embedder

        return load_embedder(settings())

    return VectorBuilds(library(), passage_embedder)


def loaded(name: str) -> bool:
    """Whether the resource ``name`` ("embedder", "backend") has been loaded in this process."""
    with _ready_lock:
        return name in _ready


def _with_status(name: str, what: str, load: Callable[[], T]) -> T:
    """``load()``, inside an ``st.status`` box ("Loading ``what``…") until the first load of ``name`` in this
    process has finished."""
    if loaded(name):
        return load()
    with st.status(f"Loading {what}…", expanded=False) as box:
        value = load()
        box.update(label=f"Loaded {what}", state="complete")
    with _ready_lock:
        _ready.add(name)
    return value


@st.cache_resource(show_spinner=False)
def _embedder() -> Embedder:
    from bookqa.index.embedders import QUERY, load_embedder

    return load_embedder(settings(), QUERY)


def embedder() -> Embedder:
    """The query embedder (ONNX Runtime under the default backend: no torch to load; loaded once; may raise
    ModelError)."""
    return _with_status("embedder", f"the embedding model {settings().embedding_model}", _embedder)


@st.cache_resource(show_spinner=False)
def _backend() -> tuple[Backend, BookQAError | None]:
    from bookqa.answering.backends import ExtractiveBackend, load_backend

    try:
        return load_backend(settings()), None
    except BookQAError as error:
        return ExtractiveBackend(), error


def backend() -> tuple[Backend, BookQAError | None]:
    """The answer backend the settings ask for, and None; or, when it cannot be loaded, the extractive
    backend and the error that says why (so the app keeps answering)."""
    return _with_status("backend", "the answer model", _backend)


def backend_summary() -> str:
    """What answers questions, for the sidebar: the loaded backend and model, or the configured one."""
    if loaded("backend"):
        answerer, problem = _backend()
        text = answerer.name if answerer.model in ("", "none") else f"{answerer.name} · {answerer.model}"
        return text + (" (fallback)" if problem else "")
    s = settings()
    model = {"transformers": s.llm_model, "openai": f"{s.openai_model} at {s.openai_base_url}"}.get(s.backend, "")
    return f"{s.backend}{' · ' + model if model else ''} (loads with the first question)"


@st.cache_resource(show_spinner=False)
def device() -> str:
    """The accelerator in use: the GPU's name and memory, or CPU (without importing torch when there is no
    NVIDIA driver at all)."""
    if not (shutil.which("nvidia-smi") or Path("/proc/driver/nvidia/version").exists()):
        return "CPU (no GPU)"
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return f"{props.name} · {props.total_memory / 2**30:.0f} GiB"
    return "CPU (no GPU)"


@st.cache_resource(show_spinner=False, max_entries=8)
def _book(book_id: str, built_at: str, vectors: bool, searchable: bool) -> Book:
    return library().open(book_id, embedder=_embedder() if searchable and vectors else None, searchable=searchable)


def book(manifest: Manifest, searchable: bool = True) -> Book:
    """The opened book (a rebuilt book is opened afresh, and again when its vectors land, so hybrid search switches
    on without a restart). ``searchable=False``: outline, chunks and pages only, without loading any model (for
    the overview and the chapter browser); a book without vectors searches by keywords, without a model."""
    key = (manifest.book_id, manifest.built_at, manifest.vectors_ready)
    if not searchable:
        return _book(*key, False)
    if manifest.vectors_ready:
        embedder()
    return _with_status(f"book:{':'.join(map(str, key))}", f"the index of {manifest.title}", lambda: _book(*key, True))


def forget_books() -> None:
    """Drop every opened book (after a rebuild or a removal)."""
    _book.clear()


@st.cache_data(show_spinner=False, max_entries=512)
def _search(book_id: str, built_at: str, vectors: bool, query: str, k: int, mode: str, scope: Scope) -> list[Hit]:
    return _book(book_id, built_at, vectors, True).retriever.search(query, k=k, mode=mode, scope=scope)


def search(book: Book, query: str, k: int, mode: str, scope: Scope) -> list[Hit]:
    """``book.retriever.search(query, k, mode, scope)`` for a book opened by :func:`book`, kept for repeated
    queries (the inspector reruns on every click)."""
    return _search(book.book_id, book.manifest.built_at, book.manifest.vectors_ready, query, k, mode, scope)


@st.cache_data(show_spinner=False, max_entries=256)
def page_png(pdf_path: str, number: int, zoom: float, highlight: tuple[str, ...] = (),
             lines: tuple[tuple[str, tuple[float, ...]], ...] | None = None) -> bytes:
    """Physical page ``number`` of the PDF at ``pdf_path`` as PNG, with ``highlight`` passages marked (on ``lines``,
    the recognised lines of a page read by OCR)."""
    from bookqa.reading.render import render_page_png

    return render_page_png(pdf_path, number, zoom=zoom, highlight=highlight, lines=lines)
