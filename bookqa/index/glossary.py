"""The book's own bilingual glossary, for questions asked in English about a Chinese book.

Chinese textbooks give the English name of a term in parentheses where they introduce it:
"框架的延后初始化（defers initialization），即……". Collected over the book's prose, these pairs let an English
question reach the Chinese text: "deferred initialization" (stemmed "defer initi") finds 延后初始化, which is then
searched alongside the question. Only multi-word names and long single words are kept: short generic words
("model", "data") would add noise.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

from bookqa.index.tokenizer import stem
from bookqa.text import HAN
from bookqa.types import Chunk, ChunkKind

_PAIR = re.compile(rf"([{HAN}]{{1,16}})（([A-Za-z][A-Za-z0-9 \-'’/]*?)(?:[，,;；、或/][^）]*)?）")
"""A run of Han characters, then in full-width parentheses an English name (alternatives after a comma or 或 dropped)."""
_WORD = re.compile(r"[a-z][a-z0-9]+")
_BOUNDARY = frozenset(
    "的 地 得 了 是 为 被 把 将 和 与 或 及 即 也 都 就 在 对 从 由 称为 称之为 叫做 叫 又称 称作 被称为 所谓 这 那 这个"
    " 一个 一种 我们 通常 也称为 或者 以及 并且 其 它 种 个 使用 采用 用 进行 通过 叫作".split()
)
"""Words that end a term when reading backwards from the parenthesis ("框架的|延后初始化")."""
MAX_TERM_CHARS = 6
MIN_SINGLE_WORD = 8
"""A one-word English name must be at least this long to be kept ("backpropagation", not "model")."""


@dataclass(frozen=True)
class Pair:
    """A Chinese term with the English name the text gives it: ``term`` starts at ``start`` in the text and the
    closing parenthesis of the English name ends at ``end``."""

    term: str
    english: str
    start: int
    end: int


def bilingual_pairs(text: str, segment: Callable[[str], Iterable[str]], chars_per_word: int = 0) -> Iterator[Pair]:
    """The ``中文（English）`` pairs of ``text``, in order; ``segment`` cuts a Han run into words (jieba).

    The Chinese term is read backwards from the parenthesis over whole words, up to a boundary word or
    MAX_TERM_CHARS characters (or ``chars_per_word`` per word of the English name, when that is more); a pair whose
    term is shorter than two characters is left out.
    """
    for match in _PAIR.finditer(text):
        limit = max(MAX_TERM_CHARS, chars_per_word * len(match.group(2).split()))
        term = _term_before(list(segment(match.group(1))), limit)
        if len(term) >= 2:
            yield Pair(term, match.group(2).strip(), match.end(1) - len(term), match.end())


def english_stems(text: str) -> list[str]:
    """Lower-case English word stems of ``text`` (hyphens split words): "Deferred initialization" -> ["defer", "initi"]."""
    return stem(_WORD.findall(text.lower().replace("-", " ")))


class Glossary:
    """English name (as a tuple of stems) -> Chinese term, as the book pairs them."""

    def __init__(self, entries: dict[tuple[str, ...], str]) -> None:
        self.entries = entries

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk], segment: Callable[[str], Iterable[str]]) -> "Glossary":
        """Collect the pairs from the prose ``chunks``; ``segment`` cuts a Han run into words (jieba).

        The pairs are read by :func:`bilingual_pairs`; when the book pairs one English name with several terms, the
        most frequent wins.
        """
        found: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        for chunk in chunks:
            if chunk.kind != ChunkKind.PROSE:
                continue
            for pair in bilingual_pairs(chunk.text, segment):
                stems = tuple(english_stems(pair.english))
                if stems and (len(stems) > 1 or len(pair.english) >= MIN_SINGLE_WORD):
                    found[stems][pair.term] += 1
        return cls({stems: counts.most_common(1)[0][0] for stems, counts in found.items()})

    def __len__(self) -> int:
        return len(self.entries)

    def terms_for(self, text: str) -> list[str]:
        """The Chinese terms whose English names occur in ``text`` (as consecutive stems), longest names first."""
        stems = english_stems(text)
        found = []
        for name, term in self.entries.items():
            size = len(name)
            if any(tuple(stems[i : i + size]) == name for i in range(len(stems) - size + 1)):
                found.append((-size, term))
        return list(dict.fromkeys(term for _, term in sorted(found)))


def _term_before(words: list[str], limit: int = MAX_TERM_CHARS) -> str:
    term: list[str] = []
    for word in reversed(words):
        if word in _BOUNDARY:
            break
        term.insert(0, word)
        if sum(map(len, term)) >= limit:
            break
    return "".join(term)
