"""A question read once: normalised as the book's text was, its language, and its terms as the book's tokenizer cuts
them. A turn carries it to the rewrite, the search, the confidence rule and the backends.
"""

from __future__ import annotations

from dataclasses import dataclass

from bookqa.index.tokenizer import Tokenizer
from bookqa.text import language_of, normalize_text
from bookqa.types import Language


@dataclass(frozen=True)
class Query:
    """A question as BookQA reads it.

    ``text``: normalised (:func:`bookqa.text.normalize_text`). ``language``: what it is written in.
    ``terms``: its lower-case content terms (:meth:`Tokenizer.terms`). ``key_terms``: its maximal terms as written
    (:meth:`Tokenizer.key_terms`).
    """

    text: str
    language: Language
    terms: tuple[str, ...]
    key_terms: tuple[str, ...]

    @classmethod
    def read(cls, text: str, tokenizer: Tokenizer) -> "Query":
        """``text`` read with the book's ``tokenizer``."""
        text = normalize_text(text)
        return cls(text, language_of(text), tuple(tokenizer.terms(text)), tuple(tokenizer.key_terms(text)))
