"""Cards, their FSRS schedule, deck export and the progress database (per profile, in SQLite, several writers)."""

from __future__ import annotations

import csv
import multiprocessing
import sqlite3
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bookqa.errors import BookQAError
from bookqa.study.cards import Card, Origin, Rating
from bookqa.study.decks import export
from bookqa.study.progress import ProgressStore, profile_name
from bookqa.types import Section

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
OUTLINE = [Section("1", "向量", 1, 1, 4), Section("1.1", "加法", 2, 1, 2), Section("1.2", "点积", 2, 3, 4)]


def _cards(n: int = 3, section: str = "1.1") -> list[Card]:
    return [Card(f"t-{i}", f"术语{i}", f"定义{i}。\n(p.{i + 1})", i + 1, str(i + 1), section, Origin.TERM) for i in range(n)]


def test_a_review_schedules_the_card_later_and_again_soon(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "study.sqlite3")
    assert store.add_cards("me", "book", _cards(), now=NOW) == 3
    assert store.add_cards("me", "book", _cards(), now=NOW) == 0  # a card is added once, its schedule kept
    assert [c.card.id for c in store.due("me", "book", now=NOW)] == ["t-0", "t-1", "t-2"]
    good = store.review("me", "book", "t-0", Rating.GOOD, now=NOW)
    again = store.review("me", "book", "t-1", "again", now=NOW)
    assert good.due > again.due > NOW and good.reviews == again.reviews == 1
    assert [c.card.id for c in store.due("me", "book", now=NOW)] == ["t-2"]
    assert "t-1" in [c.card.id for c in store.due("me", "book", now=NOW + timedelta(hours=1))]
    with pytest.raises(BookQAError, match="no card"):
        store.review("me", "book", "t-9", Rating.GOOD, now=NOW)


SCRIPT = """
import sys
from datetime import datetime, timezone
from bookqa.study.progress import ProgressStore
from bookqa.study.cards import Card, Origin
store = ProgressStore(sys.argv[1])
now = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
if sys.argv[2] == "write":
    store.add_cards("me", "book", [Card("t-1", "front", "back", 3, "3", "1.1", Origin.TERM)], now=now)
    for day in range(3):
        card = store.review("me", "book", "t-1", "good", now=store.cards("me", "book")[0].due)
    print(card.due.isoformat(), card.learned, card.reviews)
else:
    card = store.cards("me", "book")[0]
    print(card.due.isoformat(), card.learned, card.reviews)
"""


def test_the_schedule_survives_a_restart(tmp_path: Path) -> None:
    def run(mode: str) -> str:
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "study.sqlite3"), mode], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    written = run("write")
    assert written.endswith("True 3")  # three good reviews take a card out of the learning steps
    assert run("read") == written


def test_an_anki_deck_is_a_zip_holding_a_collection_with_the_cards(tmp_path: Path) -> None:
    cards = _cards(4)
    path = export(cards, tmp_path / "deck.apkg", "小书::1.1 加法")
    with zipfile.ZipFile(path) as deck:
        assert "collection.anki2" in deck.namelist()
        deck.extract("collection.anki2", tmp_path)
    with sqlite3.connect(tmp_path / "collection.anki2") as collection:
        notes = [row[0] for row in collection.execute("SELECT flds FROM notes")]
        assert collection.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 4
    assert sorted(note.split("\x1f")[0] for note in notes) == sorted(c.front for c in cards)
    assert all("p." in note.split("\x1f")[1] for note in notes)  # the page citation is on each card's back


def test_a_csv_export_and_a_bad_file_name(tmp_path: Path) -> None:
    path = export(_cards(2), tmp_path / "cards.csv", "deck")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["front"] for r in rows] == ["术语0", "术语1"] and rows[1]["page_label"] == "2"
    with pytest.raises(BookQAError, match=r"\.apkg \(Anki\) or \.csv"):
        export(_cards(1), tmp_path / "cards.txt", "deck")
    with pytest.raises(BookQAError, match="no folder"):
        export(_cards(1), tmp_path / "missing" / "cards.csv", "deck")


def test_progress_per_section_and_for_the_book(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "study.sqlite3")
    for page in (1, 2, 2, 3):
        store.record_page("me", "book", page, now=NOW)
    store.record_question("me", "book", "1.2", now=NOW)
    store.record_test("me", "book", "1.1", [("a", True), ("b", False)], now=NOW)
    store.record_test("me", "book", "1.1", [("a", True), ("b", True), ("c", False), ("d", False)], now=NOW)
    store.add_cards("me", "book", _cards(2), now=NOW)
    store.review("me", "book", "t-0", Rating.EASY, now=NOW)
    rows = {p.section.number: p for p in store.sections("me", "book", OUTLINE, now=NOW)}
    assert (rows["1.1"].pages_viewed, rows["1.1"].pages, rows["1.1"].tests, rows["1.1"].best) == (2, 2, 2, 0.5)
    assert (rows["1.1"].cards, rows["1.1"].learned, rows["1.1"].due) == (2, 1, 1)
    assert (rows["1.2"].pages_viewed, rows["1.2"].questions, rows["1.2"].best) == (1, 1, None)
    book = store.book("me", "book", OUTLINE, page_count=4, now=NOW)
    assert (book.pages_viewed, book.sections, book.sections_tested, book.tests, book.cards, book.due) == (3, 3, 1, 2, 2, 1)
    other = store.book("you", "book", OUTLINE, page_count=4, now=NOW)
    assert (other.pages_viewed, other.tests, other.cards) == (0, 0, 0)


def test_forgetting_a_book_leaves_the_others(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "study.sqlite3")
    for book in ("a", "b"):
        store.record_page("me", book, 1)
        store.record_test("me", book, "1.1", [("x", True)])
        store.add_cards("me", book, _cards(1))
    store.forget_book("a")
    assert store.book("me", "a", OUTLINE, 4).tests == 0 and not store.cards("me", "a")
    assert store.book("me", "b", OUTLINE, 4).tests == 1 and store.cards("me", "b")


def test_profile_names_and_an_unreadable_database(tmp_path: Path) -> None:
    assert profile_name("  ana   lee ") == "ana lee" and profile_name("") == "me"
    with pytest.raises(BookQAError, match="too long"):
        profile_name("x" * 41)
    bad = tmp_path / "study.sqlite3"
    bad.write_bytes(b"this is not a database at all, just some bytes" * 100)
    with pytest.raises(BookQAError, match="not a readable progress database"):
        ProgressStore(bad)
    assert bad.read_bytes().startswith(b"this is not a database")  # left as it was


def _write_progress(path: str, profile: str, start, rounds: int) -> None:
    store = ProgressStore(path)
    start.wait()
    cards = [Card(f"{profile}-{i}", f"{profile} {i}", "back", 1, "1", "1.1", Origin.TERM) for i in range(rounds)]
    for i in range(rounds):
        store.record_page(profile, "book", i + 1)
        store.record_test(profile, "book", "1.1", [(f"item-{i}", i % 2 == 0)])
        store.add_cards(profile, "book", cards[i : i + 1])
        store.review(profile, "book", cards[i].id, "good")


def test_two_profiles_write_at_once_without_cross_talk(tmp_path: Path) -> None:
    path = str(tmp_path / "study.sqlite3")
    ProgressStore(path)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    rounds = 30
    writers = [context.Process(target=_write_progress, args=(path, name, start, rounds)) for name in ("ana", "ben")]
    for writer in writers:
        writer.start()
    start.set()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    store = ProgressStore(path)
    for name, other in (("ana", "ben"), ("ben", "ana")):
        book = store.book(name, "book", OUTLINE, page_count=rounds)
        assert (book.pages_viewed, book.tests, book.cards) == (rounds, rounds, rounds)
        cards = store.cards(name, "book")
        assert all(c.card.id.startswith(name) and c.reviews == 1 for c in cards)
        assert not any(c.card.id.startswith(other) for c in cards)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
