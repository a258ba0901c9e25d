"""Follow-up questions rewritten into standalone retrieval queries.

A question is a follow-up when there are earlier turns and it leans on them: a pronoun or demonstrative
(它, 其, 这个, 该, it, its, they, them, this, these, that or one used as a pronoun, the other one, ...), a trailing 呢
or a leading "what about"/"what if"/"and"/"then", or no content terms of its own. A follow-up is rewritten by the language
model when the backend has one, else (or when the model fails or answers with something unusable) by a rule that
carries the subject of the last standalone question into the place of the pronoun, or in front:
"什么是 DenseNet 模型" + "它与ResNet的关键区别是什么？" -> "DenseNet 模型与ResNet的关键区别是什么？",
"What is recursion?" + "What happens if it never reaches the base case?" -> "What happens if recursion never
reaches the base case?". The subject is the earlier question's phrase that the book itself prints (the longest run
of its content words found in the book, a section title's first), so it reads as a noun phrase, not a list of
terms; the key terms stand in when the book prints none. A standalone question is not rewritten.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol, Sequence

from bookqa.answering.backends.base import Backend, ChatBackend
from bookqa.errors import BackendError
from bookqa.index.query import Query
from bookqa.index.tokenizer import QUESTION_WORDS, STOPWORDS, Tokenizer
from bookqa.text import is_han
from bookqa.types import Language, Message

log = logging.getLogger(__name__)

MAX_SUBJECT_TERMS = 4
"""Most key terms carried from an earlier question into a follow-up when the book prints none of its phrases."""
MAX_PHRASE_WORDS = 6
"""Longest run of words (content and function words) taken as an earlier question's subject phrase."""
UBIQUITOUS = 0.1
"""A phrase the book prints this often per passage or more (its language, "Python", "模型") names no topic of its own."""
UBIQUITOUS_MIN = 20
"""... provided it is printed at least this many times (in a book of a few passages, every phrase is frequent)."""

REWRITE_TOKENS = 96
"""Reply budget of a model rewrite."""
MAX_EXTRA_CHARS = 120
"""A model rewrite longer than the question plus this many characters is refused (the model answered)."""
HISTORY_CHARS = 300
"""Each earlier turn is cut to this many characters in the rewrite prompt."""

_ZH_POSSESSIVE = re.compile(r"它们的|它的|(?<![尤极与])其(?![他中余实次])")
_ZH_PRONOUN = re.compile(r"它们|它|这个|这种|这些|这一|那个|那种|上述|前者|后者|(?<!应)该(?![死])|(?<![因彼如从])此(?![外后])")
_EN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?|[^\sA-Za-z]")
_EN_FUNCTION = frozenset(
    "of for with about like to from on in by at into than do does did is are was were be can could will would should"
    " may might must has have had what why how when where which who whom if and but or so then".split()
)
"""Closed-class English words (prepositions, auxiliaries, wh-words, conjunctions): a demonstrative next to one is a
pronoun ("an example of that where ..."); next to another word it is a determiner ("that file")."""
_EN_AUXILIARIES = frozenset("do does did is are was were can could will would should may might must has have had".split())
"""After one of these, "that" and one more word ending the question are a pronoun and its verb ("why does that work?")."""
_EN_AFTER_ONE = frozenset("a an another other which new each make makes made need want get use write create build pick".split())
"""Words after which "one" stands for a thing ("make one", "the other one"), not a number ("one of")."""
_EN_DEMONSTRATIVES = frozenset("this that these those".split())
_BE = frozenset("is was isn't wasn't".split())
_EN_ASKER_FRAME = re.compile(r"^\s*(?:how|what|why|when|where|which)\s+(?:do|does|did|can|could|should|would|will|must)\s+(?:i|we|you)\b", re.IGNORECASE)
"""A question whose asker is its subject ("How do I …"): the next word is a verb, not the topic."""
_EN_SWAP = {"pronoun": "", "possessive": "'s", "is": " is"}
"""What follows the topic put in place of each kind of reference."""
_ZH_CONTINUATION = re.compile(r"(呢[？?。！!]*$)|^(那么?|还有|另外|然后)")
_EN_CONTINUATION = re.compile(r"^\s*(what about|how about|and|also|then|so|but)\b[\s,]*", re.IGNORECASE)
_EN_SUPPOSING = re.compile(r"^\s*what if\b", re.IGNORECASE)
"""A question that changes one condition of the last ("what if y is a vector?"): a follow-up, kept whole."""
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
        leaning = _english_reference(text) is not None or _EN_CONTINUATION.search(text) or _EN_SUPPOSING.search(text)
    return bool(leaning) or not question.key_terms


def _english_reference(text: str) -> tuple[int, int, str] | None:
    """The first word of an English question that leans on an earlier topic, as ``(start, end, kind)``: kind
    ``pronoun`` (it, they, them, a demonstrative on its own, "one" as a pronoun; swapped for the topic),
    ``possessive`` (its, their), ``is`` (it's) or ``determiner`` (a demonstrative before a noun, "the other one":
    the topic goes in front instead)."""
    words = [(m.start(), m.end(), m.group().lower()) for m in _EN_WORD.finditer(text)]
    for i, (start, end, word) in enumerate(words):
        before = words[i - 1][2] if i else ""
        after = words[i + 1][2] if i + 1 < len(words) else ""
        if word == "it" and _dummy_it(before, [w for _, _, w in words[i + 1 : i + 4]]):
            continue
        if word in ("it", "they", "them"):
            return start, end, "pronoun"
        if word in ("its", "their"):
            return start, end, "possessive"
        if word in ("it's", "it’s"):
            return start, end, "is"
        if word in _EN_DEMONSTRATIVES:
            if word == "that" and before and before not in _EN_FUNCTION:
                continue  # "the layer that normalizes": a relative pronoun
            then = words[i + 2][2] if i + 2 < len(words) else ""
            alone = not after.isalpha() or after in _EN_FUNCTION or (before in _EN_AUXILIARIES and not then.isalpha())
            return start, end, "pronoun" if alone else "determiner"
        if word == "other" and after in ("one", "ones", "kind", "kinds", "way", "type", "types"):
            return start, end, "determiner"
        if word == "one" and before in _EN_AFTER_ONE and after != "of":
            return start, end, "pronoun"
    return None


def _dummy_it(before: str, following: Sequence[str]) -> bool:
    """Whether "it" between ``before`` and ``following`` (its next three words) stands for nothing but a clause later
    in the question: "what is it called when …", "is it possible to …", "it is hard to say whether …"."""
    after = list(following) + ["", "", ""]
    if after[0] in ("called", "named", "termed", "known") and after[1] in ("when", "if", "that"):
        return True
    clause = ("to", "that", "whether")
    return (before in _BE and after[1] in clause) or (after[0] in _BE and after[2] in clause)


class Book(Protocol):
    """What the rule needs of the book: its passages, its tokenizer, and how often it prints a phrase (in passages,
    in titles)."""

    chunks: Sequence[object]

    @property
    def tokenizer(self) -> Tokenizer: ...

    def phrase_use(self, phrase: str) -> tuple[int, int]: ...


def rewrite_by_rule(question: Query, history: Sequence[Message], book: Book) -> str | None:
    """``question`` with the subject of the last standalone user question in ``history`` carried in (in place of
    its first pronoun, else in front), or None when it is not a follow-up or nothing can be carried."""
    if not is_follow_up(question, history):
        return None
    subject = _subject(question.text, history, book)
    if not subject:
        return None
    text = question.text.strip()
    if question.language == ZH:
        swapped = _swap_first(text, [(_ZH_POSSESSIVE, subject + "的"), (_ZH_PRONOUN, subject)])
        return swapped or f"{subject}{'' if is_han(subject[-1]) else ' '}{text}"
    reference = _english_reference(text)
    if reference is not None and reference[2] != "determiner":
        start, end, kind = reference
        return f"{text[:start]}{subject}{_EN_SWAP[kind]}{text[end:]}"
    rest = _EN_CONTINUATION.sub("", text, count=1) or text
    return f"{subject}: {rest[0].upper()}{rest[1:]}"


def rewrite_query(question: Query, history: Sequence[Message], book: Book, backend: Backend | None = None) -> str | None:
    """The standalone retrieval query for ``question``, or None when it stands alone.

    ``history``: earlier turns, oldest first. ``book``: the book's tokenizer and phrases (the retriever).
    ``backend``: rewrites with its language model when it has one (:class:`ChatBackend`); otherwise, or when the
    model's rewrite fails or is unusable, the rule does.
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
    return rewrite_by_rule(question, history, book)


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


def _subject(question: str, history: Sequence[Message], book: Book) -> str:
    """The subject of the last user question in ``history`` that stands alone (else the first one): its phrase the
    book prints (:func:`_book_phrase`), else its key terms that ``question`` lacks, joined."""
    asked = [Query.read(m.content, book.tokenizer) for m in history if m.role == "user"]
    source = next((q for q in reversed(asked) if not _leans(q)), asked[0])
    phrase = _book_phrase(source, book)
    words = [w for w in book.tokenizer.words(phrase) if _is_content(w)]
    if phrase and not any(_holds(question, word) for word in words):  # else carry only what the question lacks
        return _unstarted(phrase, source.text)
    carried = [t for t in source.key_terms if not _holds(question, t)][:MAX_SUBJECT_TERMS]
    phrase = ""
    for term in carried:
        gap = "" if phrase and is_han(phrase[-1]) and is_han(term[0]) else " "
        phrase = f"{phrase}{gap}{term}" if phrase else term
    return phrase


def _holds(text: str, phrase: str) -> bool:
    """Whether ``text`` holds ``phrase`` as whole words (any case)."""
    return re.search(rf"(?<![^\W_]){re.escape(phrase)}(?![^\W_])", text, re.IGNORECASE) is not None if phrase.isascii() else (
        phrase.lower() in text.lower()
    )


def _unstarted(phrase: str, source: str) -> str:
    """``phrase`` without the capital it has only for starting ``source`` ("My program" -> "my program")."""
    first = phrase.split(" ", 1)[0]
    if source.startswith(phrase) and first[:1].isupper() and first[1:].islower():
        return phrase[0].lower() + phrase[1:]
    return phrase


def _book_phrase(source: Query, book: Book) -> str:
    """The first run of ``source``'s words, starting and ending with a content word, that the book prints but not
    everywhere (:data:`UBIQUITOUS`), the longest at that start (in a section title, when two are as long); in an
    English question the verb after "how do I" is passed over. "" when the book prints none."""
    words = book.tokenizer.words(source.text)
    content = [_is_content(word) for word in words]
    frame = _EN_ASKER_FRAME.match(source.text) if source.language == EN else None
    if frame:  # "How do I [open] a file": the subject is the verb's object
        verb = next((i for i, word in enumerate(words) if content[i] and sum(map(len, words[:i])) >= frame.end()), None)
        if verb is not None:
            content[verb] = False
    best: tuple[int, int, int] | None = None
    found = ""
    for start in range(len(words)):
        if not content[start]:
            continue
        for end in range(start + 1, min(len(words), start + MAX_PHRASE_WORDS) + 1):
            if not content[end - 1] or any(_breaks(word) for word in words[start:end]):
                continue
            phrase = "".join(words[start:end]).strip()
            in_text, in_titles = book.phrase_use(phrase)
            if not (in_text or in_titles) or in_text >= max(UBIQUITOUS * len(book.chunks), UBIQUITOUS_MIN):
                continue
            rank = (-start, sum(content[start:end]), int(in_titles > 0))
            if best is None or rank > best:
                best, found = rank, phrase
    return found


def _is_content(word: str) -> bool:
    """A word that names something: not a stop word or a question word, not a single Han character or Latin letter."""
    lowered = word.strip().lower()
    return len(lowered) > 1 and any(c.isalnum() for c in lowered) and lowered not in STOPWORDS and lowered not in QUESTION_WORDS


def _breaks(word: str) -> bool:
    """Punctuation that ends a phrase (a comma, a question mark, a bracket)."""
    return bool(word.strip()) and not any(c.isalnum() for c in word) and word.strip() not in "-'’"


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
