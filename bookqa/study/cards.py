"""Flash cards and their spaced-repetition schedule.

Cards come from a section's key terms (front: the term; back: its defining sentence and page) and from self-test
items answered wrong (front: the question; back: the answer, its evidence and page). They are scheduled with FSRS
(the ``fsrs`` package, the scheduler Anki itself uses): a new card is due at once, each review (Again, Hard, Good,
Easy) gives it its next due time. The schedule state is plain JSON, kept by :mod:`bookqa.study.progress`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import fsrs

from bookqa.study.keys import fold
from bookqa.types import Choice, Pages

if TYPE_CHECKING:  # the progress database reads cards without loading the self-test side
    from bookqa.study.quiz import Item
    from bookqa.study.terms import Term


class Rating(Choice):
    """How well a card was recalled, as Anki asks."""

    AGAIN = "again"
    HARD = "hard"
    GOOD = "good"
    EASY = "easy"


class Origin(Choice):
    """Where a card comes from: a key term, or a self-test item answered wrong."""

    TERM = "term"
    MISSED = "missed"


_RATINGS = {Rating.AGAIN: fsrs.Rating.Again, Rating.HARD: fsrs.Rating.Hard, Rating.GOOD: fsrs.Rating.Good, Rating.EASY: fsrs.Rating.Easy}
_SCHEDULER = fsrs.Scheduler()


@dataclass(frozen=True)
class Card:
    """A flash card: ``id`` (stable for the same book and content), ``front``, ``back`` (with its page citation),
    the physical ``page`` and printed ``page_label`` of its source, its ``section`` (the number, or the title of an
    unnumbered one, of the section it was made for) and ``origin``."""

    id: str
    front: str
    back: str
    page: int
    page_label: str
    section: str
    origin: Origin

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "front": self.front, "back": self.back, "page": self.page, "page_label": self.page_label,
                "section": self.section, "origin": str(self.origin)}


def _card_id(book_id: str, origin: Origin, content: str) -> str:
    return f"{origin.value[0]}-" + hashlib.blake2b(f"{book_id}\0{content}".encode(), digest_size=6).hexdigest()


def term_card(book_id: str, term: Term, section: str, pages: Pages) -> Card:
    """The card of a key term: the term (with its English name) on the front, its defining sentence and page on the
    back."""
    label = pages.label(term.page)
    front = f"{term.term}（{term.english}）" if term.english else term.term
    return Card(_card_id(book_id, Origin.TERM, fold(term.term)), front, f"{term.sentence.text}\n(p.{label})", term.page, label,
                section, Origin.TERM)


def missed_card(book_id: str, item: Item, section: str, pages: Pages) -> Card:
    """The card of a self-test item answered wrong: the question (and its options) on the front, the answer, its
    evidence and page on the back."""
    label = pages.label(item.page)
    front = item.question + "".join(f"\n• {option}" for option in item.options)
    back = f"{item.answer}\n{item.evidence}\n(p.{label})"
    return Card(_card_id(book_id, Origin.MISSED, item.id), front, back, item.page, label, section, Origin.MISSED)


def new_schedule(now: datetime | None = None) -> str:
    """The schedule state of a new card (due at ``now``), as JSON."""
    card = fsrs.Card(due=now or datetime.now(timezone.utc))
    return json.dumps(card.to_dict())


def review(schedule: str, rating: Rating, now: datetime | None = None) -> tuple[str, datetime]:
    """The schedule after a review rated ``rating`` at ``now`` (default: now), as JSON, and the card's next due time."""
    card = fsrs.Card.from_dict(json.loads(schedule))
    card, _ = _SCHEDULER.review_card(card, _RATINGS[Rating.parse(rating, "rating")], review_datetime=now or datetime.now(timezone.utc))
    return json.dumps(card.to_dict()), card.due


def learned(schedule: str) -> bool:
    """Whether a card has left the learning steps (FSRS's review state)."""
    return json.loads(schedule)["state"] == fsrs.State.Review.value


def due_at(schedule: str) -> datetime:
    """When a card is due."""
    return datetime.fromisoformat(json.loads(schedule)["due"])
