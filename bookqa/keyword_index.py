"""Keyword index: jieba tokenisation (Chinese and English) and BM25 with bm25s, filters applied inside the search.

Tokens are lower case; punctuation and whitespace are dropped; runs of Latin letters and digits stay whole
("densenet", "word2vec", "60000"); runs of Han characters are cut by jieba in search mode (a long word also
yields the shorter dictionary words inside it, so "稠密连接网络" matches a query for "连接网络"); a small
generic list of function words and question words is dropped. Each index has its own ``jieba.Tokenizer``
with the book's section-title terms added to its dictionary, so terms like 稠密连接网络 stay whole.
Saved as bm25s's plain files (``allow_pickle=False``) plus the extra words in a JSON file.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Iterable, Sequence

import bm25s
import jieba
import numpy as np

WORDS_FILE = "extra_words.json"

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"([{_HAN}]+)|[^\W_{_HAN}]+")
"""A run of Han characters (group 1, cut by jieba), or a run of other letters and digits (kept whole)."""
_TITLE_NUMBER = re.compile(r"^\s*\d+(\.\d+)*\s+")
_TITLE_PARTS = re.compile(r"[（(]([^）)]*)[）)]")

STOPWORDS = frozenset(
    # Chinese function words, pronouns and question words
    "的 地 得 了 着 过 是 在 和 与 及 或 并 而 也 都 就 还 又 再 才 很 更 最 被 把 给 对 向 从 到 于 以 为 由 之 其 所 等 则"
    " 这 那 这个 那个 这些 那些 这样 那样 这种 一个 一种 我 你 他 她 它 我们 你们 他们 它们 吗 呢 吧 啊 呀 么"
    " 什么 怎么 怎样 怎么样 如何 为什么 为何 哪 哪个 哪些 哪里 多少 几 啥 是否 是不是 有没有"
    # English function words and question words
    " a an the of to in on at by for from with as and or not no is are was were be been being it its this that"
    " these those there here do does did can could would should will shall may might must what which who whom whose"
    " why how when where if than then so such".split()
)

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its logger to DEBUG: every index build would print

_dictionary_lock = threading.Lock()
_dictionary: tuple[dict[str, int], int] | None = None


def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's default prefix dictionary and total frequency, loaded once per process (about a second)."""
    global _dictionary
    with _dictionary_lock:
        if _dictionary is None:
            logging.getLogger("jieba").setLevel(logging.WARNING)  # jieba logs its dictionary load to stderr
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _dictionary = (tokenizer.FREQ, tokenizer.total)
        return _dictionary


def _new_tokenizer(extra_words: Iterable[str]) -> jieba.Tokenizer:
    """A private jieba tokenizer: a copy of the default dictionary (no reload) plus ``extra_words``."""
    freq, total = _base_dictionary()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(freq), total, True
    for word in extra_words:
        tokenizer.add_word(word)
    return tokenizer


def title_terms(title: str) -> list[str]:
    """Terms of a section title worth keeping whole: its Chinese runs and the words of a parenthesised name.

    "7.7 稠密连接网络（DenseNet）" -> ["稠密连接网络", "densenet"]; numbers, punctuation and one-character
    runs are dropped. Returns lower-case terms, in order, without repeats.
    """
    title = _TITLE_NUMBER.sub("", title.lower())
    terms = [match.group(1) for match in _RUNS.finditer(_TITLE_PARTS.sub(" ", title)) if match.group(1)]
    for inner in _TITLE_PARTS.findall(title):
        terms += [match.group(0) for match in _RUNS.finditer(inner)]
    return list(dict.fromkeys(term for term in terms if len(term) > 1 and not term.isdigit()))


class Tokenizer:
    """Turns text into BM25 tokens (see the module docstring); ``extra_words`` are kept whole by jieba."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        """Prepares jieba now (the first tokenizer of a process loads its dictionary, about a second), so that
        no query pays for it."""
        self.extra_words: tuple[str, ...] = tuple(dict.fromkeys(w.strip().lower() for w in extra_words if w.strip()))
        self._jieba = _new_tokenizer(self.extra_words)

    def words(self, text: str) -> list[str]:
        """``text`` cut into words by jieba's precise mode (stop words kept, nothing lower-cased)."""
        return list(self._jieba.cut(text, HMM=False))

    def __call__(self, text: str) -> list[str]:
        """The tokens of ``text``, in order."""
        tokens: list[str] = []
        for match in _RUNS.finditer(text.lower()):
            if match.group(1):
                tokens += self._jieba.cut_for_search(match.group(1), HMM=False)
            else:
                tokens.append(match.group(0))
        return [token for token in tokens if token not in STOPWORDS]


class KeywordIndex:
    """BM25 over the chunk texts of one book (document ``i`` is chunk position ``i``)."""

    def __init__(self, bm25: bm25s.BM25, tokenizer: Tokenizer) -> None:
        """Wrap an indexed ``bm25`` built with ``tokenizer``; use :meth:`build` or :meth:`load` rather than this."""
        if not getattr(bm25, "vocab_dict", None):
            raise ValueError("KeywordIndex needs an indexed bm25s.BM25 (call its index() first).")
        self._bm25 = bm25
        self._tokenizer = tokenizer

    @classmethod
    def build(cls, texts: Sequence[str], extra_words: Iterable[str] = ()) -> "KeywordIndex":
        """Index ``texts`` (one per chunk, in chunk order); ``extra_words`` are added to jieba's dictionary."""
        if not texts:
            raise ValueError("KeywordIndex.build needs at least one text.")
        tokenizer = Tokenizer(extra_words)
        bm25 = bm25s.BM25()
        bm25.index([tokenizer(text) for text in texts], show_progress=False)
        return cls(bm25, tokenizer)

    def __len__(self) -> int:
        return int(self._bm25.scores["num_docs"])

    @property
    def extra_words(self) -> tuple[str, ...]:
        """The words added to jieba's dictionary (lower case)."""
        return self._tokenizer.extra_words

    def tokenize(self, text: str) -> list[str]:
        """The tokens ``text`` is indexed or searched with."""
        return self._tokenizer(text)

    def words(self, text: str) -> list[str]:
        """``text`` cut into words with this index's dictionary (see :meth:`Tokenizer.words`)."""
        return self._tokenizer.words(text)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` documents that score best for ``query``, best first.

        ``k``: hits wanted (at least 1). ``allowed``: optional boolean mask over documents; the others are
        weighted 0 inside the search (bm25s ``weight_mask``), so ``k`` hits come back whenever ``k`` allowed
        documents share a token with the query.
        Returns ``(scores, ids)``: 1-D float32 BM25 scores (all above 0) and int64 document positions; both are
        empty when no query token is in the index.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        weights = None
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.dtype != np.bool_ or allowed.shape != (len(self),):
                raise ValueError(f"allowed must be a boolean array of shape ({len(self)},), got {allowed.dtype} {allowed.shape}.")
            weights = allowed.astype(np.float32)
        vocab = self._bm25.vocab_dict
        tokens = [token for token in self.tokenize(query) if token in vocab]
        if not tokens:
            return np.empty(0, np.float32), np.empty(0, np.int64)
        ids, scores = self._bm25.retrieve([tokens], k=min(k, len(self)), weight_mask=weights, show_progress=False)
        found = scores[0] > 0
        return scores[0][found].astype(np.float32), ids[0][found].astype(np.int64)

    def save(self, folder: str | Path) -> Path:
        """Write the index into ``folder`` (created if missing); returns the folder."""
        folder = Path(folder)
        self._bm25.save(folder, allow_pickle=False, show_progress=False)
        (folder / WORDS_FILE).write_text(json.dumps(list(self.extra_words), ensure_ascii=False), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "KeywordIndex":
        """Read an index written by :meth:`save` from ``folder``; it tokenises queries as the built one did."""
        folder = Path(folder)
        words = folder / WORDS_FILE
        if not words.is_file():
            raise FileNotFoundError(f"No keyword index at {folder} ({WORDS_FILE} is missing).")
        bm25 = bm25s.BM25.load(folder, allow_pickle=False, show_progress=False)
        return cls(bm25, Tokenizer(json.loads(words.read_text(encoding="utf-8"))))
