"""How study compares texts: :func:`fold` for answers and terms, :func:`squeeze` and :func:`on_page` for finding a
text on its page. Light to import (the progress database and the overview use it without loading any index)."""

from __future__ import annotations

import re
import unicodedata

from bookqa.text import normalize_chars
from bookqa.types import Page

_SPACE = re.compile(r"\s+")
_SURROUNDING = " .,;:!?。，；：！？、\"'“”‘’()（）[]【】"


def fold(text: str) -> str:
    """``text`` for comparison: NFKC (full width folded), case folded, inner whitespace collapsed, surrounding
    whitespace and punctuation removed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split()).strip(_SURROUNDING)


def squeeze(text: str) -> str:
    """``text`` NFKC-normalised (full-width CJK punctuation kept, as in the book's pages) without any whitespace."""
    return _SPACE.sub("", normalize_chars(text))


def on_page(text: str, page: Page) -> bool:
    """Whether ``text`` is printed on ``page``: found in its text with both normalised by :func:`squeeze`."""
    key = squeeze(text)
    return bool(key) and key in squeeze(page.text)
