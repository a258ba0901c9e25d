"""Language helpers for answers: which language a question is in, its key terms, the sentences of a passage.

Terms come from the keyword index's tokeniser (jieba for Chinese runs, whole Latin words, stop words
dropped), so "what a question is about" means the same thing here as in keyword search.
"""

from __future__ import annotations

import math
import re
import threading

from bookqa.keyword_index import Tokenizer

ZH, EN = "zh", "en"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WIDE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(r"(?<=[。！？；])|(?<=[.!?;])\s+(?=[A-Z\"“(\u4e00-\u9fff])|\n")

QUESTION_WORDS = frozenset(
    "理解 解释 介绍 说明 讲讲 一下 请问 有啥 两者 分别 各种 各自 关于 呢 请 干嘛 干啥 咋 咋样 怎么回事 咋回事 啥意思 玩意 啥玩意"
    " about explain explained mean meaning understand tell me please describe between you i".split()
)
"""Words that shape a question rather than name its topic; dropped from terms on top of the keyword index's stop words."""

_tokenizer_lock = threading.Lock()
_tokenizer: Tokenizer | None = None


def language_of(text: str) -> str:
    """``"zh"`` when ``text`` has at least as many Han characters as Latin words (so "什么是 DenseNet" is
    Chinese and "What does 卷积 mean?" is English), else ``"en"``."""
    han = len(_HAN.findall(text))
    return ZH if han and han >= len(_LATIN_WORD.findall(text)) else EN


def has_chinese(text: str) -> bool:
    """Whether ``text`` holds at least one Han character."""
    return _HAN.search(text) is not None


def _tokens(text: str) -> list[str]:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            _tokenizer = Tokenizer()
        tokenizer = _tokenizer
    return tokenizer(text)


def terms(text: str) -> list[str]:
    """The lower-case content terms of ``text``, in order, without repeats.

    Stop words, question words (:data:`QUESTION_WORDS`), one-letter Latin words, numbers and single Han
    characters (mostly function words) are dropped.
    A long Chinese word also yields the shorter dictionary words inside it ("稠密连接网络" -> 稠密, 连接, ...).
    """
    kept = (t for t in _tokens(text) if len(t) > 1 and not t.isdigit() and t not in QUESTION_WORDS)
    return list(dict.fromkeys(kept))


def key_terms(text: str) -> list[str]:
    """The maximal content terms of ``text`` as written there (original case), in order of appearance.

    "什么是 DenseNet 模型" -> ["DenseNet", "模型"]. A term inside a longer term of the list is left out.
    """
    found = terms(text)
    maximal = [t for t in found if not any(t != other and t in other for other in found)]
    lowered = text.lower()
    spans = []
    for term in maximal:
        start = lowered.find(term)
        if start >= 0:
            original = text[start : start + len(term)] if len(lowered) == len(text) else term
            spans.append((start, original))
    return [term for _, term in sorted(spans)]


def split_sentences(text: str) -> list[str]:
    """``text`` cut into sentences at Chinese and English end punctuation and at line breaks (stored book
    text holds one paragraph per line). Each sentence keeps its end punctuation; empty pieces are dropped."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece and piece.strip()]


def estimate_tokens(text: str) -> int:
    """A cautious token count for a model whose tokenizer is not at hand: one per CJK character or full-width
    sign, one per three other non-space characters (the tokenizers of GLM-4 and its peers give fewer)."""
    wide = len(_WIDE.findall(text))
    other = sum(1 for c in text if not c.isspace()) - wide
    return wide + math.ceil(other / 3)
