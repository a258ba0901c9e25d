"""The book's tokenizer: what keyword search, the title index, question terms and highlighting all call a word.

Tokens are lower case; punctuation and whitespace are dropped; runs of Latin letters and digits stay whole
("densenet", "word2vec", "60000"), and for search English words are reduced to their Snowball stem ("functions",
"functional" -> "function"), so a question finds a passage that inflects its words otherwise; runs of Han
characters are cut by jieba in search mode (a long word also yields the shorter dictionary words inside it, so
"稠密连接网络" matches a query for "连接网络"); a small generic list of function words and question words is dropped. Each book has its own ``jieba.Tokenizer``
with its section-title terms added to the dictionary, so terms like 稠密连接网络 stay whole.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Iterable

import jieba
import snowballstemmer

from bookqa.text import HAN

_RUNS = re.compile(rf"([{HAN}]+)|[^\W_{HAN}]+")
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

QUESTION_WORDS = frozenset(
    "理解 解释 介绍 说明 讲讲 一下 请问 有啥 两者 分别 各种 各自 关于 呢 请 干嘛 干啥 咋 咋样 怎么回事 咋回事 啥意思 玩意 啥玩意"
    " about explain explained mean meaning understand tell me please describe between you i".split()
)
"""Words that shape a question rather than name its topic; left out of its terms on top of the stop words."""

BOOK_WORDS = frozenset("book textbook 书 本书 教材 课本".split())
"""Search tokens by which a question points at the book it is asked in ("why does the book suggest…", "书里…"):
they say where to look, not what about, so they alone do not make a question one about the preface."""

_STEMMER = snowballstemmer.stemmer("english")
_stem_lock = threading.Lock()


def stem(words: Iterable[str]) -> list[str]:
    """The Snowball English stems of lower-case ``words``; words with a digit or a non-Latin letter stay as they are."""
    with _stem_lock:  # the stemmer keeps state between calls
        return [_STEMMER.stemWord(w) if w.isascii() and w.isalpha() else w for w in words]


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
        """The search tokens of ``text``, in order: its words (:meth:`words_of`) with English ones stemmed."""
        return stem(self.words_of(text))

    def words_of(self, text: str) -> list[str]:
        """The lower-case words of ``text`` as written, in order, without stop words."""
        tokens: list[str] = []
        for match in _RUNS.finditer(text.lower()):
            if match.group(1):
                tokens += self._jieba.cut_for_search(match.group(1), HMM=False)
            else:
                tokens.append(match.group(0))
        return [token for token in tokens if token not in STOPWORDS]

    def terms(self, text: str) -> list[str]:
        """The lower-case content terms of ``text``, in order, without repeats.

        Stop words, question words (:data:`QUESTION_WORDS`), one-letter Latin words, numbers and single Han
        characters (mostly function words) are dropped. A long Chinese word also yields the shorter dictionary words
        inside it ("稠密连接网络" -> 稠密, 连接, ...).
        """
        kept = (t for t in self.words_of(text) if len(t) > 1 and not t.isdigit() and t not in QUESTION_WORDS)
        return list(dict.fromkeys(kept))

    def key_terms(self, text: str) -> list[str]:
        """The maximal content terms of ``text`` as written there (original case), in order of appearance.

        "什么是 DenseNet 模型" -> ["DenseNet", "模型"]. A term inside a longer term of the list is left out.
        """
        found = self.terms(text)
        maximal = [t for t in found if not any(t != other and t in other for other in found)]
        lowered = text.lower()
        spans = []
        for term in maximal:
            start = lowered.find(term)
            if start >= 0:
                original = text[start : start + len(term)] if len(lowered) == len(text) else term
                spans.append((start, original))
        return [term for _, term in sorted(spans)]
