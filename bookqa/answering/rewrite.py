"""Follow-up questions rewritten into standalone retrieval queries.

A question is a follow-up when there are earlier turns and it leans on them: a pronoun or demonstrative
(它, 其, 这个, 该, it, its, they, this, ...), a trailing 呢 or a leading "what about"/"and", or no content
terms of its own. A follow-up is rewritten by the language model when the backend has one, else (or when
the model fails or answers with something unusable) by a rule that carries the key terms of the last
standalone question into it: "什么是 DenseNet 模型" + "它与ResNet的关键区别是什么？" ->
"DenseNet 模型与ResNet的关键区别是什么？". A standalone question is not rewritten.
"""

from __future__ import annotations

import logging
import re
from typing import Sequence

from bookqa.answering.backends.base import Backend, ChatBackend
from bookqa.errors import BackendError
from bookqa.index.query import Query
from bookqa.index.tokenizer import Tokenizer
from bookqa.text import is_han
from bookqa.types import Language, Message

log = logging.getLogger(__name__)

MAX_SUBJECT_TERMS = 4
"""Most key terms carried from an earlier question into a follow-up."""

REWRITE_TOKENS = 96
"""Reply budget of a model rewrite."""
MAX_EXTRA_CHARS = 120
"""A model rewrite longer than the question plus this many characters is refused (the model answered)."""
HISTORY_CHARS = 300
"""Each earlier turn is cut to this many characters in the rewrite prompt."""

_ZH_POSSESSIVE = re.compile(r"它们的|它的|(?<![尤极与])其(?![他中余实次])")
_ZH_PRONOUN = re.compile(r"它们|它|这个|这种|这些|这一|那个|那种|上述|前者|后者|(?<!应)该(?![死])|(?<![因彼如从])此(?![外后])")
_EN_POSSESSIVE = re.compile(r"\b(its|their)\b", re.IGNORECASE)
_EN_PRONOUN = re.compile(r"\b(it|they|them|this|these|those|the former|the latter)\b", re.IGNORECASE)
_ZH_CONTINUATION = re.compile(r"(呢[？?。！!]*$)|^(那么?|还有|另外|然后)")
_EN_CONTINUATION = re.compile(r"^\s*(what about|how about|and|also|then)\b", re.IGNORECASE)
_CITATION = re.compile(r"[\[【［]\s*(p|pp|page)\.?\s*\d", re.IGNORECASE)
"""A page citation: a rewrite that cites pages answered the question instead of restating it."""
_LABEL_PREFIX = re.compile(r"^\s*(改写后的问题|独立问题|问题|standalone question|rewritten question|question)\s*[:：]\s*", re.IGNORECASE)

ZH, EN = Language.ZH, Language.EN

_REWRITE_SYSTEM = {
    ZH: "根据对话，把用户的最后一个问题改写成一个不依赖对话、可以单独用来检索书籍的完整问题。"
    "把代词换成它指代的具体概念，不要回答问题。只输出改写后的问题。",
    EN: "Rewrite the user's last question as a complete question that can be searched in the book without the "
    "conversation. Replace pronouns with the concepts they refer to; do not answer it. Reply with the question only.",
}
_REWRITE_USER = {
    ZH: "对话：\n{turns}\n\n最后一个问题：{question}",
    EN: "Conversation:\n{turns}\n\nLast question: {question}",
}
_ROLE = {ZH: {"user": "用户：", "assistant": "助手："}, EN: {"user": "User: ", "assistant": "Assistant: "}}


def is_follow_up(question: Query, history: Sequence[Message]) -> bool:
    """True when ``question`` leans on earlier turns and ``history`` holds at least one user turn."""
    return any(m.role == "user" for m in history) and _leans(question)


def _leans(question: Query) -> bool:
    """True when ``question`` has a pronoun, a continuation (…呢, what about…) or no content terms."""
    text = question.text
    if question.language == ZH:
        leaning = _ZH_POSSESSIVE.search(text) or _ZH_PRONOUN.search(text) or _ZH_CONTINUATION.search(text.strip())
    else:
        leaning = _EN_POSSESSIVE.search(text) or _EN_PRONOUN.search(text) or _EN_CONTINUATION.search(text)
    return bool(leaning) or not question.key_terms


def rewrite_by_rule(question: Query, history: Sequence[Message], tokenizer: Tokenizer) -> str | None:
    """``question`` with the key terms of the last standalone user question in ``history`` carried in (in
    place of its first pronoun, else in front), or None when it is not a follow-up or nothing can be carried.
    ``tokenizer``: the book's, which reads the earlier questions."""
    if not is_follow_up(question, history):
        return None
    subject = _subject(question.text, history, tokenizer)
    if not subject:
        return None
    text = question.text
    if question.language == ZH:
        swapped = _swap_first(text, [(_ZH_POSSESSIVE, subject + "的"), (_ZH_PRONOUN, subject)])
        return swapped or f"{subject}{'' if is_han(subject[-1]) else ' '}{text.strip()}"
    swapped = _swap_first(text, [(_EN_POSSESSIVE, subject + "'s"), (_EN_PRONOUN, subject)])
    return swapped or f"{subject}: {text.strip()}"


def rewrite_query(
    question: Query, history: Sequence[Message], tokenizer: Tokenizer, backend: Backend | None = None
) -> str | None:
    """The standalone retrieval query for ``question``, or None when it stands alone.

    ``history``: earlier turns, oldest first. ``tokenizer``: the book's. ``backend``: rewrites with its language
    model when it has one (:class:`ChatBackend`); otherwise, or when the model's rewrite fails or is unusable, the
    rule does.
    """
    if not is_follow_up(question, history):
        return None
    if isinstance(backend, ChatBackend):
        try:
            rewritten = _rewrite_by_model(question, history, backend)
        except BackendError as error:
            log.warning("The model could not rewrite the follow-up question (%s); using the rule.", error)
        else:
            if rewritten:
                return None if rewritten == question.text.strip() else rewritten
            log.info("The model's rewrite was unusable; using the rule.")
    return rewrite_by_rule(question, history, tokenizer)


def _rewrite_by_model(query: Query, history: Sequence[Message], backend: ChatBackend) -> str | None:
    """The model's standalone version of ``query`` (first line, labels and quotes stripped), or None
    when it gave nothing usable (nothing, something far longer than the question, or an answer citing pages)."""
    language, question = query.language, query.text
    turns = "\n".join(
        _ROLE[language][m.role] + _clip(m.content) for m in history[-4:] if m.role in ("user", "assistant")
    )
    messages = [
        Message("system", _REWRITE_SYSTEM[language]),
        Message("user", _REWRITE_USER[language].format(turns=turns, question=question.strip())),
    ]
    with backend.stream(messages, max_new_tokens=REWRITE_TOKENS, temperature=0.0) as reply:
        text = reply.text()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    candidate = _LABEL_PREFIX.sub("", lines[0]).strip().strip("\"'“”「」")
    if not candidate or len(candidate) > len(question) + MAX_EXTRA_CHARS or _CITATION.search(candidate):
        return None  # nothing, or an answer instead of a question
    return candidate


def _subject(question: str, history: Sequence[Message], tokenizer: Tokenizer) -> str:
    """Key terms of the last user question in ``history`` that stands alone (else the first one), minus
    those ``question`` already has, joined as a phrase."""
    asked = [Query.read(m.content, tokenizer) for m in history if m.role == "user"]
    source = next((q for q in reversed(asked) if not _leans(q)), asked[0])
    present = question.lower()
    carried = [t for t in source.key_terms if t.lower() not in present][:MAX_SUBJECT_TERMS]
    phrase = ""
    for term in carried:
        gap = "" if phrase and is_han(phrase[-1]) and is_han(term[0]) else " "
        phrase = f"{phrase}{gap}{term}" if phrase else term
    return phrase


def _swap_first(question: str, patterns: list[tuple[re.Pattern[str], str]]) -> str | None:
    """``question`` with the earliest match of any pattern replaced by its text, or None when none matches."""
    found = [(m.start(), m.end(), text) for pattern, text in patterns if (m := pattern.search(question))]
    if not found:
        return None
    start, end, text = min(found)
    before, after = question[:start], question[end:]
    if before[-1:].isascii() and before[-1:].isalnum():
        text = " " + text
    if after[:1].isascii() and after[:1].isalnum() and text[-1].isascii():
        text += " "
    return f"{before}{text}{after}".strip()


def _clip(text: str) -> str:
    return text if len(text) <= HISTORY_CHARS else text[:HISTORY_CHARS] + "…"
