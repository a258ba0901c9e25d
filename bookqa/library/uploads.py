"""Adding a PDF that arrives as bytes (an upload): size check, storage by content hash, indexing.

The uploaded file's name is only a display name (the book id's slug is made from it by
:func:`bookqa.library.make_book_id`); it is never used as a path.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from bookqa.errors import InvalidPDFError
from bookqa.library.store import Library, Manifest, StageProgress

if TYPE_CHECKING:
    from bookqa.index.embedders import Embedder

UPLOADS = "uploads"
"""Folder under ``settings.data_dir`` where an upload waits while it is indexed."""


def check_size(size: int, max_upload_mb: int) -> None:
    """Raise :class:`InvalidPDFError` when ``size`` bytes exceed ``max_upload_mb`` megabytes."""
    if size > max_upload_mb * 1024 * 1024:
        raise InvalidPDFError(
            f"The file is {size / 1024 / 1024:.0f} MB; the largest book BookQA accepts is {max_upload_mb} MB.",
            "Index it from the command line (python -m bookqa index BOOK.pdf) or raise BOOKQA_MAX_UPLOAD_MB.",
        )


def add_pdf_bytes(
    library: Library,
    data: bytes,
    name: str,
    embedder: Embedder | None = None,
    progress: StageProgress | None = None,
    vectors: bool = True,
) -> Manifest:
    """Index a PDF given as bytes into ``library`` and return its manifest.

    ``name``: the original file name, shown as the book's source and used for its id. The bytes are written
    to ``<data_dir>/uploads/<sha256>-<random>.pdf`` for the build and removed afterwards (the book folder
    keeps its own copy). ``vectors=False``: the first build step only (see :meth:`Library.add`). Raises :class:`InvalidPDFError` for a file over ``settings.max_upload_mb`` or one
    that is not a usable PDF; books already in the library are never touched by a failed upload.
    """
    check_size(len(data), library.settings.max_upload_mb)
    folder = Path(library.settings.data_dir) / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()}-{secrets.token_hex(4)}.pdf"
    part = path.with_suffix(".part")
    part.write_bytes(data)
    os.replace(part, path)
    try:
        manifest, _ = library.add(path, embedder=embedder, progress=progress, name=Path(name).name or "upload.pdf", vectors=vectors)
    finally:
        path.unlink(missing_ok=True)
    return manifest
