"""Open and validate a PDF: a missing, empty, damaged, truncated or encrypted file is refused with what to do."""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path

import pymupdf

from bookqa.errors import InvalidPDFError

log = logging.getLogger(__name__)

_HEADER_WINDOW = 1024
_TAIL_WINDOW = 2048
_REPAIR_HINT = "Download the file again, or repair it (e.g. `qpdf in.pdf repaired.pdf` or `mutool clean in.pdf repaired.pdf`)."


def open_pdf(path: str | PathLike[str], shown: str | None = None) -> pymupdf.Document:
    """Open ``path`` as a PDF, or raise :class:`InvalidPDFError` saying what is wrong with it.

    Refused: a missing file, an empty file, a file that is not a PDF, a truncated or damaged PDF, a PDF
    that needs a password, a PDF without pages. A scanned PDF opens; ``ingest_pdf`` refuses it.
    ``shown``: how the messages name the file (an upload's own name); default its path.
    """
    path = Path(path)
    name = shown or str(path)
    if not path.is_file():
        what = "is a folder, not a PDF file" if path.is_dir() else "does not exist"
        raise InvalidPDFError(f"{name} {what}.", "Check the path and pass a .pdf file.")
    size = path.stat().st_size
    if size == 0:
        raise InvalidPDFError(f"{name} is empty (0 bytes).", "Download or copy the PDF again.")
    with path.open("rb") as file:
        head = file.read(_HEADER_WINDOW)
        file.seek(max(0, size - _TAIL_WINDOW))
        tail = file.read()
    if b"%PDF-" not in head:
        raise InvalidPDFError(
            f"{name} is not a PDF (it starts with {head[:16]!r}).",
            "Pass a PDF file; convert other formats to PDF first.",
        )
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as error:  # PyMuPDF raises several types for unreadable files
        raise InvalidPDFError(f"{name} is damaged and cannot be read ({error}).", _REPAIR_HINT) from None
    if doc.is_repaired and b"%%EOF" not in tail:
        doc.close()
        raise InvalidPDFError(f"{name} is truncated: the end of the file is missing.", _REPAIR_HINT)
    if doc.needs_pass:
        doc.close()
        raise InvalidPDFError(
            f"{name} is encrypted and needs a password.",
            "Save an unprotected copy, e.g. `qpdf --decrypt --password=PASSWORD in.pdf out.pdf`.",
        )
    if doc.page_count == 0:
        doc.close()
        raise InvalidPDFError(f"{name} has no pages.", "Pass a PDF that has pages.")
    if doc.is_repaired:
        log.warning("%s has a damaged cross-reference table; PyMuPDF repaired it on opening", path)
    return doc
