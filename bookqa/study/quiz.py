"""Self-test items made from a section without a language model, each with an answer key checked on its page.

From each term the section defines (:mod:`bookqa.study.terms`), one item of one type:
- **cloze**: the defining sentence with the term (and the English name a pair gives it) blanked;
- **choice**: the same blank, the term among three other terms of the chapter of the same kind (Chinese, words,
  code) that are not in the sentence and neither hold nor are held by the answer;
- **where**: which part of the section (or which section of a chapter) explains the term, among three or four of
  its parts whose titles and text do not name the term.
Types are spread evenly, in an order the seed shuffles. Every item carries its answer, its evidence (the defining
sentence), the physical page where the answer is printed, its label, and its section. An item whose key (the
answer; for a where item, the term explained) is not found on its page (:func:`bookqa.study.material.on_page`) is
dropped, never repaired; so is one that would share an answer or an evidence sentence with an item before it, or
whose options are not distinct. A sentence too short around the blank, or mostly symbols (a formula), makes no
item: a thin section yields fewer items, never padded ones.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from bookqa.study.keys import fold, on_page
from bookqa.study.material import Material
from bookqa.study.terms import Term
from bookqa.text import has_han, language_of
from bookqa.types import Choice, Language, Pages, Section

BLANK = "____"
OPTIONS = 4
"""Options of a multiple-choice or where item (the answer among them)."""
MIN_CONTEXT = {True: 10, False: 5}
"""What a blanked sentence must keep around the blank: Han characters for a Chinese one (True), words otherwise."""
MAX_EVIDENCE_CHARS = 320
MIN_WORD_SHARE = 0.55
"""Share of a sentence's characters that must be letters or Han characters (a formula's sentence makes no item)."""

_CONTENT = re.compile(r"[\w\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_ARTICLE = re.compile(rf"\b(an?|An?)\s+{re.escape(BLANK)}")


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


def blanked(term: Term) -> str | None:
    """The defining sentence of ``term`` with the term (and its English name) blanked, every other mention of either
    too; None when what is left is too short to answer from or is mostly symbols."""
    text = term.sentence.text
    start, end = term.span
    out = text[:start] + BLANK + text[end:]
    for name in (term.term, term.english):
        if name:
            pattern = re.escape(name) if has_han(name) else rf"(?<![\w-]){re.escape(name)}(?![\w-])"
            out = re.sub(pattern, BLANK, out, flags=re.IGNORECASE)
    out = re.sub(rf"{re.escape(BLANK)}\s*[（(]\s*{re.escape(BLANK)}\s*[)）]", BLANK, out)
    out = _ARTICLE.sub(lambda match: f"{match.group(1)[0]}(n) {BLANK}", out)  # "an ____" would give away a vowel
    rest = out.replace(BLANK, "")
    chinese = has_han(text)
    context = len(re.findall(r"[\u3400-\u9fff]", rest)) if chinese else len(_LATIN_WORD.findall(rest))
    letters = len(_CONTENT.findall(text))
    if context < MIN_CONTEXT[chinese] or len(text) > MAX_EVIDENCE_CHARS or letters < MIN_WORD_SHARE * len(text.replace(" ", "")):
        return None
    return out


def distractors(term: Term, pool: Sequence[Term], rng: random.Random, wanted: int = OPTIONS - 1) -> list[str]:
    """``wanted`` terms of ``pool`` (the chapter's) of the kind of ``term`` that could stand in its place: not the
    term or its English name, not inside it and not holding it, not in its sentence; distinct. Fewer when the
    chapter has fewer."""
    own = {fold(term.term), fold(term.english)} - {""}
    sentence = fold(term.sentence.text)
    found: dict[str, str] = {}
    for other in pool:
        key = other.key
        if other.kind != term.kind or key in own or key in found or key in sentence:
            continue
        if any(key in mine or mine in key for mine in own):
            continue
        found[key] = other.term
    options = list(found.values())
    rng.shuffle(options)
    return options[:wanted]


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
) -> list[Item]:
    """Up to ``n`` items on ``section`` (see the module docstring), in reading order.

    ``material``/``terms``: the section's. ``pool``: the terms of its chapter (distractors). ``parts``: the
    subsections (of a chapter: its sections) a where item chooses among; fewer than three make no where items.
    ``pages``: the book's pages (for the page check). ``seed``: the same seed gives the same items.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    rng = random.Random(seed)
    language = language_of(" ".join(s.text for s in material.sentences[:40]))
    by_sentence: dict[tuple[int, str], Term] = {}
    for term in terms:  # one term per sentence: the first it defines
        by_sentence.setdefault((term.sentence.line, term.sentence.text), term)
    candidates = list(by_sentence.values())
    rng.shuffle(candidates)
    used: Counter[ItemType] = Counter()
    answers: set[str] = set()
    evidence: set[str] = set()
    items: list[tuple[tuple[int, int], Item]] = []
    for term in candidates:
        if len(items) == n:
            break
        text = blanked(term)
        if text is None:
            continue
        made = {
            ItemType.CHOICE: _choice(book_id, term, text, pool, rng, language),
            ItemType.WHERE: _where(book_id, term, parts, rng, language),
            ItemType.CLOZE: _cloze(book_id, term, text, language),
        }
        options = [kind for kind, item in made.items() if item is not None]
        rng.shuffle(options)
        options.sort(key=lambda kind: used[kind])
        for kind in options:
            item = made[kind]
            assert item is not None
            if not _checked(item, pages, answers, evidence):
                continue
            used[kind] += 1
            answers.add(fold(item.answer))
            evidence.add(item.evidence)
            items.append(((term.sentence.line, term.span[0]), item))
            break
    return [item for _, item in sorted(items, key=lambda entry: entry[0])]


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
    mention it; None without two such others, or when a title names the term."""
    home = next((part for part in parts if term.sentence.section in part.members), None)
    if home is None:
        return None
    names = {fold(term.term), fold(term.english)} - {""}
    if any(name in fold(part.section.title) for part in parts for name in names):
        return None
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

