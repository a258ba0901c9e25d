"""Study progress, per profile, in one SQLite database under the data folder (``study.sqlite3`` beside ``books/``).

What is kept, per profile and book: the pages viewed in the chapter browser, the questions asked (by section), the
self-tests taken (score per section, each answer), and the cards with their FSRS schedule and reviews. Profiles are
names (the app's sidebar, the CLI's ``--profile``; default ``me``): every read and write names one, so students
sharing a server never see each other's progress. The database is in WAL mode and every write is one short
``BEGIN IMMEDIATE`` transaction on its own connection, so several sessions and processes can write at once; a
waiting writer retries for up to BUSY_SECONDS. Removing a book keeps its progress unless asked (:meth:`forget_book`),
so adding the same book again (the same id) finds it.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Iterator, Sequence

from bookqa.config import Settings
from bookqa.errors import BookQAError
from bookqa.study.cards import Card, Origin, Rating, due_at, learned, new_schedule, review
from bookqa.types import Section

DATABASE = "study.sqlite3"
DEFAULT_PROFILE = "me"
MAX_PROFILE_CHARS = 40
BUSY_SECONDS = 30.0
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS page_views (
    profile TEXT NOT NULL, book_id TEXT NOT NULL, page INTEGER NOT NULL, views INTEGER NOT NULL, last_at TEXT NOT NULL,
    PRIMARY KEY (profile, book_id, page));
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY, profile TEXT NOT NULL, book_id TEXT NOT NULL, section TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tests (
    id INTEGER PRIMARY KEY, profile TEXT NOT NULL, book_id TEXT NOT NULL, section TEXT NOT NULL,
    correct INTEGER NOT NULL, total INTEGER NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    test_id INTEGER NOT NULL REFERENCES tests (id) ON DELETE CASCADE, item_id TEXT NOT NULL, correct INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cards (
    profile TEXT NOT NULL, book_id TEXT NOT NULL, card_id TEXT NOT NULL, section TEXT NOT NULL, origin TEXT NOT NULL,
    front TEXT NOT NULL, back TEXT NOT NULL, page INTEGER NOT NULL, page_label TEXT NOT NULL,
    schedule TEXT NOT NULL, due TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (profile, book_id, card_id));
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY, profile TEXT NOT NULL, book_id TEXT NOT NULL, card_id TEXT NOT NULL, rating TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS questions_by_book ON questions (profile, book_id);
CREATE INDEX IF NOT EXISTS tests_by_book ON tests (profile, book_id);
CREATE INDEX IF NOT EXISTS cards_by_due ON cards (profile, book_id, due);
"""


def profile_name(name: str | None) -> str:
    """``name`` as a profile name (spaces collapsed); the default profile for an empty one. Raises BookQAError
    for one longer than MAX_PROFILE_CHARS."""
    name = " ".join((name or "").split())
    if not name:
        return DEFAULT_PROFILE
    if len(name) > MAX_PROFILE_CHARS:
        raise BookQAError(f"The profile name {name[:20]!r}… is too long.", f"Use at most {MAX_PROFILE_CHARS} characters.")
    return name


def section_key(section: Section) -> str:
    """How progress names a section: its number, or the title of an unnumbered one."""
    return section.number or section.title


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc)


def end_of_day(now: datetime | None = None) -> datetime:
    """The end of the local day of ``now`` (default: now), in UTC: what "due today" counts up to."""
    local = (now or datetime.now(timezone.utc)).astimezone()
    return datetime.combine(local.date(), time.max, tzinfo=local.tzinfo).astimezone(timezone.utc)


@dataclass(frozen=True)
class StoredCard:
    """A profile's card: the ``card``, when it is ``due``, whether it is ``learned`` (out of the learning steps) and
    how many ``reviews`` it has had."""

    card: Card
    due: datetime
    learned: bool
    reviews: int


@dataclass(frozen=True)
class SectionProgress:
    """A profile's progress in one ``section``: ``pages_viewed`` of its ``pages``, ``questions`` asked, self-
    ``tests`` taken and the ``best`` score (a share, None before the first), ``cards``, ``learned`` and ``due``
    (by the end of today)."""

    section: Section
    pages: int
    pages_viewed: int
    questions: int
    tests: int
    best: float | None
    cards: int
    learned: int
    due: int


@dataclass(frozen=True)
class BookProgress:
    """A profile's progress in a whole book: ``pages_viewed`` of ``pages``, ``sections_tested`` of the ``sections``
    (chapters and sections), ``tests``, ``questions``, ``cards``, ``learned`` and ``due`` today."""

    pages: int
    pages_viewed: int
    sections: int
    sections_tested: int
    tests: int
    questions: int
    cards: int
    learned: int
    due: int


class ProgressStore:
    """The progress database at ``path`` (created, with its folder, when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            try:
                connection.execute("PRAGMA journal_mode = WAL")
                if connection.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    connection.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            finally:
                connection.close()
        except sqlite3.DatabaseError as error:
            raise BookQAError(
                f"{self.path} is not a readable progress database ({error}).",
                "Move the file aside (BookQA then starts a new one) or restore it from a backup.",
            ) from None

    @classmethod
    def of(cls, settings: Settings) -> "ProgressStore":
        """The progress database of the library in ``settings.data_dir``."""
        return cls(Path(settings.data_dir) / DATABASE)

    # ------------------------------------------------------------------------------------------- writing
    def record_page(self, profile: str, book_id: str, page: int, now: datetime | None = None) -> None:
        """Physical ``page`` of ``book_id`` was viewed."""
        with self._write() as db:
            db.execute(
                "INSERT INTO page_views VALUES (?, ?, ?, 1, ?) ON CONFLICT (profile, book_id, page) "
                "DO UPDATE SET views = views + 1, last_at = excluded.last_at",
                (profile_name(profile), book_id, page, _now(now).isoformat()),
            )

    def record_question(self, profile: str, book_id: str, section: str, now: datetime | None = None) -> None:
        """A question about ``section`` (a :func:`section_key`) was asked."""
        with self._write() as db:
            db.execute("INSERT INTO questions (profile, book_id, section, at) VALUES (?, ?, ?, ?)",
                       (profile_name(profile), book_id, section, _now(now).isoformat()))

    def record_test(
        self, profile: str, book_id: str, section: str, results: Sequence[tuple[str, bool]], now: datetime | None = None
    ) -> int:
        """A self-test on ``section`` was taken: ``results`` holds (item id, answered right) per item. Returns its id."""
        if not results:
            raise ValueError("A self-test needs at least one answer.")
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO tests (profile, book_id, section, correct, total, at) VALUES (?, ?, ?, ?, ?, ?)",
                (profile_name(profile), book_id, section, sum(ok for _, ok in results), len(results), _now(now).isoformat()),
            )
            test_id = int(cursor.lastrowid or 0)
            db.executemany("INSERT INTO answers VALUES (?, ?, ?)", [(test_id, item, int(ok)) for item, ok in results])
        return test_id

    def add_cards(self, profile: str, book_id: str, cards: Sequence[Card], now: datetime | None = None) -> int:
        """Add ``cards`` (due at once); a card the profile has already keeps its schedule. Returns how many were new."""
        at = _now(now)
        schedule = new_schedule(at)
        with self._write() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO cards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(profile_name(profile), book_id, c.id, c.section, str(c.origin), c.front, c.back, c.page, c.page_label,
                  schedule, at.isoformat(), at.isoformat()) for c in cards],
            )
            return db.total_changes - before

    def review(self, profile: str, book_id: str, card_id: str, rating: Rating | str, now: datetime | None = None) -> StoredCard:
        """Record a review of a card rated ``rating`` and schedule it (FSRS); returns the card as it now stands."""
        rating = Rating.parse(rating, "rating")
        profile = profile_name(profile)
        at = _now(now)
        with self._write() as db:
            row = db.execute("SELECT schedule FROM cards WHERE profile = ? AND book_id = ? AND card_id = ?",
                             (profile, book_id, card_id)).fetchone()
            if row is None:
                raise BookQAError(f"There is no card {card_id!r} for {profile!r} in {book_id}.", "Add the cards of a section first.")
            schedule, due = review(row[0], rating, at)
            db.execute("UPDATE cards SET schedule = ?, due = ? WHERE profile = ? AND book_id = ? AND card_id = ?",
                       (schedule, due.astimezone(timezone.utc).isoformat(), profile, book_id, card_id))
            db.execute("INSERT INTO reviews (profile, book_id, card_id, rating, at) VALUES (?, ?, ?, ?, ?)",
                       (profile, book_id, card_id, str(rating), at.isoformat()))
        return next(card for card in self.cards(profile, book_id) if card.card.id == card_id)

    def forget_book(self, book_id: str) -> None:
        """Delete every profile's progress in ``book_id``."""
        with self._write() as db:
            for table in ("page_views", "questions", "tests", "cards", "reviews"):
                db.execute(f"DELETE FROM {table} WHERE book_id = ?", (book_id,))

    # ------------------------------------------------------------------------------------------- reading
    def cards(self, profile: str, book_id: str, sections: Sequence[str] | None = None) -> list[StoredCard]:
        """The profile's cards of ``book_id`` (of ``sections``, section keys, when given), soonest due first."""
        with self._read() as db:
            rows = db.execute(
                "SELECT c.card_id, c.front, c.back, c.page, c.page_label, c.section, c.origin, c.schedule, "
                "(SELECT COUNT(*) FROM reviews r WHERE r.profile = c.profile AND r.book_id = c.book_id AND r.card_id = c.card_id) "
                "FROM cards c WHERE c.profile = ? AND c.book_id = ? ORDER BY c.due, c.created_at, c.card_id",
                (profile_name(profile), book_id),
            ).fetchall()
        wanted = None if sections is None else set(sections)
        return [
            StoredCard(Card(card_id, front, back, page, label, section, Origin(origin)), due_at(schedule), learned(schedule), reviews)
            for card_id, front, back, page, label, section, origin, schedule, reviews in rows
            if wanted is None or section in wanted
        ]

    def due(self, profile: str, book_id: str, now: datetime | None = None) -> list[StoredCard]:
        """The profile's cards of ``book_id`` due at ``now`` (default: now), soonest first."""
        at = _now(now)
        return [card for card in self.cards(profile, book_id) if card.due <= at]

    def sections(self, profile: str, book_id: str, outline: Sequence[Section], now: datetime | None = None) -> list[SectionProgress]:
        """The profile's progress in each chapter and section (levels 1-2) of ``outline``, in book order."""
        profile = profile_name(profile)
        with self._read() as db:
            viewed = {page for (page,) in db.execute(
                "SELECT page FROM page_views WHERE profile = ? AND book_id = ?", (profile, book_id))}
            questions = dict(db.execute(
                "SELECT section, COUNT(*) FROM questions WHERE profile = ? AND book_id = ? GROUP BY section", (profile, book_id)))
            tests = {section: (count, best) for section, count, best in db.execute(
                "SELECT section, COUNT(*), MAX(CAST(correct AS REAL) / total) FROM tests "
                "WHERE profile = ? AND book_id = ? GROUP BY section", (profile, book_id))}
        cards = self.cards(profile, book_id)
        today = end_of_day(now)
        out = []
        for section in (s for s in outline if s.level <= 2):
            key = section_key(section)
            mine = [card for card in cards if card.card.section == key]
            count, best = tests.get(key, (0, None))
            out.append(SectionProgress(
                section=section, pages=section.end_page - section.start_page + 1,
                pages_viewed=sum(section.start_page <= page <= section.end_page for page in viewed),
                questions=int(questions.get(key, 0)), tests=int(count), best=best, cards=len(mine),
                learned=sum(card.learned for card in mine), due=sum(card.due <= today for card in mine),
            ))
        return out

    def book(self, profile: str, book_id: str, outline: Sequence[Section], page_count: int, now: datetime | None = None) -> BookProgress:
        """The profile's progress in the whole book."""
        profile = profile_name(profile)
        with self._read() as db:
            viewed = db.execute("SELECT COUNT(*) FROM page_views WHERE profile = ? AND book_id = ?", (profile, book_id)).fetchone()[0]
            tests, tested = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT section) FROM tests WHERE profile = ? AND book_id = ?", (profile, book_id)).fetchone()
            questions = db.execute("SELECT COUNT(*) FROM questions WHERE profile = ? AND book_id = ?", (profile, book_id)).fetchone()[0]
        cards = self.cards(profile, book_id)
        today = end_of_day(now)
        return BookProgress(
            pages=page_count, pages_viewed=int(viewed), sections=sum(s.level <= 2 for s in outline), sections_tested=int(tested),
            tests=int(tests), questions=int(questions), cards=len(cards), learned=sum(c.learned for c in cards),
            due=sum(c.due <= today for c in cards),
        )

    # ------------------------------------------------------------------------------------------- connections
    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: the write lock is taken first, so it never has to be upgraded
        and a concurrent writer waits rather than failing)."""
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()
