"""Self-test items made from a section without a language model, each with an answer key checked on its page.

From each term the section defines (:mod:`bookqa.study.terms`), one item of one type:
- **cloze**: the defining sentence with the term (and the English name a pair gives it) blanked;
- **choice**: the same blank, the term among three other terms of the chapter of the same kind (Chinese, words,
  code) that are not in the sentence and neither hold nor are held by the answer;
- **where**: which part of the section (or which section of a chapter) explains the term, among three or four of
  its parts whose titles and text do not name the term.
Types are spread evenly, in an order the seed shuffles. Every item carries its answer, its evidence (the defining
sentence), the physical page where the answer is printed, its label, and its section. An item whose key (the
answer; for a where item, the term explained) is not found on its page (:func:`bookqa.study.keys.on_page`) is
dropped, never repaired; so is one that would share an answer or an evidence sentence with an item before it, or
whose options are not distinct. A sentence that cannot carry a fair item makes none (too short around the blank,
mostly symbols, a lead-in to a listing, about the book itself, or naming the term inside a longer one): a thin section
yields fewer items, never padded ones.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from bookqa.index.glossary import english_stems
from bookqa.study.keys import fold, on_page
from bookqa.study.material import Material
from bookqa.study.terms import Segment, Source, Term
from bookqa.text import HAN, has_han, is_han, language_of
from bookqa.types import Choice, Language, Pages, Section

BLANK = "____"
OPTIONS = 4
"""Options of a multiple-choice or where item (the answer among them)."""
MIN_CONTEXT = {True: 10, False: 5}
"""What a blanked sentence must keep around the blank: Han characters for a Chinese one (True), words otherwise."""
MAX_EVIDENCE_CHARS = 320
SHORT = {True: 24, False: 12}
"""A defining sentence shorter than this (Han characters for a Chinese one, words otherwise) is shown after the
sentence before it."""
MAX_BLANKS = 2
"""A sentence that needs more blanks than this to hide the answer makes no item: too little of it is left."""
MIN_WORD_SHARE = 0.55
"""Share of a sentence's characters that must be letters or Han characters (a formula's sentence makes no item)."""

_CONTENT = re.compile(r"\w")  # a letter, digit or Han character
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_ARTICLE = re.compile(rf"\b(an?|An?)\s+{re.escape(BLANK)}")
_STARTS_WITH_A_WORD = re.compile(rf"^[\"'“‘(（《]?[A-Za-z{HAN}]")
_POINTS_BACK = re.compile(r"^(?:this|that|these|those|it|they|such|here|thus|so|hence|therefore|也就是说|换句话说|因此|所以|于是|这|那|它|此|其|该)(?![a-z])", re.IGNORECASE)
"""A sentence opening that refers to the one before it."""
_META = re.compile(r"本节|本章|本书|下一节|下一章|上一节|上一章|\b(?:this|next|previous|the following) (?:chapter|section)\b|\bin this book\b", re.IGNORECASE)
"""A sentence about the book itself ("本节将介绍…", "In this chapter we…"): it names a topic, it does not explain it."""


class ItemType(Choice):
    """The kinds of self-test item."""

    CLOZE = "cloze"
    CHOICE = "choice"
    WHERE = "where"
    OPEN = "open"


QUESTIONS = {
    ItemType.CLOZE: {Language.ZH: "填空：{text}", Language.EN: "Fill in the blank: {text}"},
    ItemType.CHOICE: {Language.ZH: "哪个术语填入空白处？{text}", Language.EN: "Which term fills the blank? {text}"},
    ItemType.WHERE: {Language.ZH: "哪一部分解释了“{text}”？", Language.EN: "Which part explains “{text}”?"},
}


@dataclass(frozen=True)
class Item:
    """A self-test item.

    ``id``: stable for the same book, type, answer and evidence. ``question``: what is asked. ``answer``: the key;
    ``accepted``: other answers graded right (the English name of a Chinese term, a section's bare number).
    ``options``: the choices of a choice or where item (the answer among them), else empty. ``evidence``: the
    sentence that answers it. ``page``: the physical page where the key is printed; ``key``: that text (the answer,
    or the term a where item asks about). ``section``/``section_number``: the section the evidence is in.
    """

    id: str
    type: ItemType
    question: str
    answer: str
    evidence: str
    page: int
    section: str
    section_number: str | None
    key: str
    options: tuple[str, ...] = ()
    accepted: tuple[str, ...] = field(default=())

    def to_json(self, pages: Pages) -> dict[str, Any]:
        """The item as ``quiz --json`` prints it (``options`` only for items that have them)."""
        row: dict[str, Any] = {"id": self.id, "type": str(self.type), "question": self.question}
        if self.options:
            row["options"] = list(self.options)
        row.update(answer=self.answer, evidence=self.evidence, page=self.page, page_label=pages.label(self.page),
                   section=self.section)
        return row


def item_id(book_id: str, kind: ItemType, answer: str, evidence: str) -> str:
    """A short id that stays the same for the same book, type, answer and evidence."""
    digest = hashlib.blake2b(f"{book_id}\0{kind}\0{fold(answer)}\0{evidence}".encode(), digest_size=6).hexdigest()
    return f"{kind.value[:2]}-{digest}"


def blanked(term: Term, segment: Segment) -> str | None:
    """The defining sentence of ``term`` with the term (and its English name) blanked, every other mention of either
    too; None when the sentence cannot make a fair item (see :func:`fair_evidence`), or when the term also appears
    inside a longer word of it (blanking "梯度" in "梯度下降" would leave "____下降"); ``segment`` cuts Han text
    into words."""
    text = term.sentence.text
    if not fair_evidence(term):
        return None
    start, end = term.span
    if has_han(term.term) and _inside_a_word(term.term, text, (start, start + len(term.term)), segment):
        return None
    out = text[:start] + BLANK + text[end:]
    for name in (term.term, term.english):
        if name:
            pattern = re.escape(name) if has_han(name) else rf"(?<![\w-]){re.escape(name)}(?![\w-])"
            out = re.sub(pattern, BLANK, out, flags=re.IGNORECASE)
    out = re.sub(rf"{re.escape(BLANK)}\s*[（(]\s*{re.escape(BLANK)}\s*[)）]", BLANK, out)
    out = _ARTICLE.sub(lambda match: f"{match.group(1)[0]}(n) {BLANK}", out)  # "an ____" would give away a vowel
    rest = out.replace(BLANK, "")
    chinese = has_han(text)
    context = _size(rest, chinese)
    return out if context >= MIN_CONTEXT[chinese] else None


def fair_evidence(term: Term) -> bool:
    """Whether the defining sentence of ``term`` can carry an item: of a reasonable length, mostly words (not a
    formula or a listing's output), beginning with a word (not a formula number or a prompt), not a lead-in to what
    follows it (ending with a colon, except a glossary entry), and not about the book itself ("本节介绍…", "In this
    chapter…")."""
    text = term.sentence.text
    letters = len(_CONTENT.findall(text))
    if len(text) > MAX_EVIDENCE_CHARS or letters < MIN_WORD_SHARE * len(text.replace(" ", "")):
        return False
    if not _STARTS_WITH_A_WORD.match(text) or _META.search(text):
        return False
    return term.source == Source.GLOSSARY or not text.rstrip().endswith((":", "："))


def with_context(term: Term, text: str, material: Material) -> str:
    """The blanked sentence ``text`` of ``term``, after the sentence before it in its paragraph when it leans on that
    one: when it is short, or opens with a word that points back ("This is known as ____"); not when the sentence
    before names the term."""
    sentence = term.sentence
    chinese = has_han(sentence.text)
    if _size(sentence.text, chinese) >= SHORT[chinese] and not _POINTS_BACK.match(sentence.text):
        return text
    sentences = material.sentences
    index = next((i for i, s in enumerate(sentences) if s is sentence), -1)
    before = sentences[index - 1] if index > 0 and sentences[index - 1].line == sentence.line else None
    names = [name for name in (term.term, term.english) if name]
    if before is None or any(fold(name) in fold(before.text) for name in names):
        return text
    return f"{before.text} {text}" if not chinese else before.text + text


def _size(text: str, chinese: bool) -> int:
    """How long ``text`` is: in Han characters when ``chinese``, else in Latin words."""
    return sum(map(is_han, text)) if chinese else len(_LATIN_WORD.findall(text))


def _inside_another(term: Term, terms: Sequence[Term]) -> bool:
    """Whether the sentence of ``term`` also names a longer term of ``terms`` that holds it (轴突 in 轴突端子): blanking
    the one would blank part of the other."""
    sentence = fold(term.sentence.text)
    return any(term.key in other.key and other.key != term.key and other.key in sentence for other in terms)


def _inside_a_word(term: str, text: str, own: tuple[int, int], segment: Segment) -> bool:
    """Whether ``term`` occurs in ``text``, other than at ``own``, where its ends are not word boundaries."""
    bounds = {0}
    position = 0
    for word in segment(text):
        position += len(word)
        bounds.add(position)
    for match in re.finditer(re.escape(term), text):
        if (match.start(), match.end()) != own and not (match.start() in bounds and match.end() in bounds):
            return True
    return False


def distractors(term: Term, pool: Sequence[Term], rng: random.Random, wanted: int = OPTIONS - 1) -> list[str]:
    """``wanted`` terms of ``pool`` (the chapter's) of the kind of ``term`` that could stand in its place: not the
    term, its English name or a form of either ("parsing" for "parse": English words are compared by their stems),
    not one holding all the words of either or held by it,
    not inside it and not holding it, not in its sentence; distinct in the same way; singular or plural as the
    answer is. A capital that only begins a sentence is dropped when the answer has none. Fewer when the chapter has
    fewer."""
    own = {fold(term.term), fold(term.english)} - {""}
    stems = {_stems(name) for name in own}
    sentence = fold(term.sentence.text)
    found: dict[tuple[str, ...], str] = {}
    for other in pool:
        key, stem = other.key, _stems(other.key)
        if other.kind != term.kind or stem in found or key in sentence or any(_close(stem, mine) for mine in stems):
            continue
        if any(key in mine or mine in key for mine in own):
            continue
        found[stem] = _in_case_of(other.term, term.term)
    options = [option for option in found.values() if _plural(option) == _plural(term.term)]
    rng.shuffle(options)
    return options[:wanted]


def _plural(term: str) -> bool:
    """Whether an English term looks plural (its last word ends in a single "s"), so that options agree in number
    with the blank ("A(n) ____ is" takes no "tokens"); never for other terms."""
    last = term.split()[-1] if term.isascii() and term.split() else ""
    return len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is"))


def _close(one: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """Whether two terms (by their stems) are the same or one holds every word of the other ("object-oriented
    language" and "object-oriented programming language"): one could stand for the other."""
    return set(one) <= set(other) or set(other) <= set(one)


def _stems(text: str) -> tuple[str, ...]:
    """English words by their stems ("Tokens" -> ("token",)); other text as it is."""
    return tuple(english_stems(text)) if text.isascii() and english_stems(text) else (text,)


def _in_case_of(option: str, answer: str) -> str:
    """``option`` without a capital that only begins a sentence ("Semantic error"), when ``answer`` is lower case."""
    if answer[:1].islower() and option[:1].isupper() and option[1:] == option[1:].lower():
        return option[0].lower() + option[1:]
    return option


@dataclass(frozen=True)
class Part:
    """A part of the quizzed section that a where item can name: its ``section``, the sections it is made of
    (``members``: itself and those inside it) and its ``text``, folded."""

    section: Section
    members: frozenset[Section]
    text: str


def make_items(
    book_id: str,
    section: Section,
    material: Material,
    terms: Sequence[Term],
    pool: Sequence[Term],
    parts: Sequence[Part],
    pages: Pages,
    n: int,
    seed: int | None = None,
    segment: Segment = lambda text: list(text),
) -> list[Item]:
    """Up to ``n`` items on ``section`` (see the module docstring), in reading order.

    ``material``/``terms``: the section's. ``pool``: the terms of its chapter (distractors). ``parts``: the
    subsections (of a chapter: its sections) a where item chooses among; fewer than three make no where items.
    ``pages``: the book's pages (for the page check). ``seed``: the same seed gives the same items. ``segment``: cuts
    Han text into words (the book's tokenizer); by default every character is a word.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    rng = random.Random(seed)
    language = language_of(" ".join(s.text for s in material.sentences[:40]))
    by_sentence: dict[tuple[int, str], list[Term]] = {}
    for term in terms:  # one item per sentence: of the terms it defines, the first that makes one
        by_sentence.setdefault((term.sentence.line, term.sentence.text), []).append(term)
    sentences = list(by_sentence.values())
    rng.shuffle(sentences)
    used: Counter[ItemType] = Counter()
    answers: set[str] = set()
    evidence: set[str] = set()
    items: list[tuple[tuple[int, int], Item]] = []
    for defined in sentences:
        if len(items) == n:
            break
        for term in defined:
            item = _item(book_id, material, term, terms, pool, parts, pages, rng, language, used, answers, evidence, segment)
            if item is not None:
                used[item.type] += 1
                answers.add(fold(item.answer))
                evidence.add(item.evidence)
                items.append(((term.sentence.line, term.span[0]), item))
                break
    return [item for _, item in sorted(items, key=lambda entry: entry[0])]


def _item(
    book_id: str,
    material: Material,
    term: Term,
    terms: Sequence[Term],
    pool: Sequence[Term],
    parts: Sequence[Part],
    pages: Pages,
    rng: random.Random,
    language: Language,
    used: Counter[ItemType],
    answers: set[str],
    evidence: set[str],
    segment: Segment,
) -> Item | None:
    """The item ``term`` makes, of the type used least so far among those it can make, checked; None when it
    makes none."""
    text = blanked(term, segment)
    if text is None or _inside_another(term, terms) or text.count(BLANK) > MAX_BLANKS:
        return None
    text = with_context(term, text, material)
    made = {
        ItemType.CHOICE: _choice(book_id, term, text, pool, rng, language),
        ItemType.WHERE: _where(book_id, term, parts, rng, language),
        ItemType.CLOZE: _cloze(book_id, term, text, language),
    }
    kinds = [kind for kind, item in made.items() if item is not None]
    rng.shuffle(kinds)
    kinds.sort(key=lambda kind: used[kind])
    return next((item for kind in kinds if (item := made[kind]) is not None and _checked(item, pages, answers, evidence)), None)


def _checked(item: Item, pages: Pages, answers: set[str], evidence: set[str]) -> bool:
    """The key is on the item's page, the answer and evidence are new, the options distinct."""
    page = pages.get(item.page)
    if page is None or not on_page(item.key, page):
        return False
    if fold(item.answer) in answers or item.evidence in evidence:
        return False
    return len({fold(option) for option in item.options}) == len(item.options)


def _question(kind: ItemType, text: str, language: Language) -> str:
    return QUESTIONS[kind][language].format(text=text)


def _accepted(term: Term) -> tuple[str, ...]:
    return (term.english,) if term.english else ()


def _cloze(book_id: str, term: Term, text: str, language: Language) -> Item:
    return Item(
        item_id(book_id, ItemType.CLOZE, term.term, term.sentence.text), ItemType.CLOZE,
        _question(ItemType.CLOZE, text, language), term.term, term.sentence.text, term.page,
        term.sentence.section.display_title, term.sentence.section.number, term.term, accepted=_accepted(term),
    )


def _choice(book_id: str, term: Term, text: str, pool: Sequence[Term], rng: random.Random, language: Language) -> Item | None:
    others = distractors(term, pool, rng)
    if len(others) < OPTIONS - 1:
        return None
    options = [term.term, *others]
    rng.shuffle(options)
    return Item(
        item_id(book_id, ItemType.CHOICE, term.term, term.sentence.text), ItemType.CHOICE,
        _question(ItemType.CHOICE, text, language), term.term, term.sentence.text, term.page,
        term.sentence.section.display_title, term.sentence.section.number, term.term, tuple(options), _accepted(term),
    )


def _where(book_id: str, term: Term, parts: Sequence[Part], rng: random.Random, language: Language) -> Item | None:
    """Which of ``parts`` explains ``term``: the one that holds its defining sentence, among others that do not
    mention it; None without two such others, or when a title names the term or the term holds a title."""
    home = next((part for part in parts if term.sentence.section in part.members), None)
    if home is None:
        return None
    names = {fold(term.term), fold(term.english)} - {""}
    titles = [fold(part.section.title) for part in parts]
    if any(name in title or (len(title) >= 2 and title in name) for title in titles for name in names):
        return None  # a title that names the term, or that the term holds ("添加位置编码" and "位置编码"), gives it away
    others = [part for part in parts if part is not home and not any(name in part.text for name in names)]
    if len(others) < OPTIONS - 2:
        return None
    rng.shuffle(others)
    options = [home.section.display_title, *(part.section.display_title for part in others[: OPTIONS - 1])]
    rng.shuffle(options)
    accepted = (home.section.number,) if home.section.number else ()
    return Item(
        item_id(book_id, ItemType.WHERE, home.section.display_title, term.sentence.text), ItemType.WHERE,
        _question(ItemType.WHERE, term.term, language), home.section.display_title, term.sentence.text, term.page,
        term.sentence.section.display_title, term.sentence.section.number, term.term, tuple(options), accepted,
    )

