"""Cards exported for other tools: an Anki deck (``.apkg``, written by ``genanki``) and CSV.

Each note of the deck has the fields Front, Back, Page and Section, a page citation on its back; its guid comes from
the card's id, so importing a newer export of the same book updates the notes instead of adding copies.
"""

from __future__ import annotations

import csv
import hashlib
import html
import tempfile
from pathlib import Path
from typing import Sequence

import genanki

from bookqa.errors import BookQAError
from bookqa.study.cards import Card

FORMATS = (".apkg", ".csv")
_FIELDS = ["Front", "Back", "Page", "Section"]
_CSS = ".card { font-family: sans-serif; font-size: 20px; text-align: left; } .page { color: #777; font-size: 14px; }"


def _stable_id(text: str) -> int:
    """A positive 31-bit id derived from ``text`` (Anki deck and model ids must stay the same between exports)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") >> 1


def _model() -> genanki.Model:
    return genanki.Model(
        _stable_id("bookqa card model"),
        "BookQA card",
        fields=[{"name": name} for name in _FIELDS],
        templates=[{
            "name": "Card",
            "qfmt": "{{Front}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Back}}<div class="page">p.{{Page}} · {{Section}}</div>',
        }],
        css=_CSS,
    )


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def write_apkg(cards: Sequence[Card], path: Path, deck_name: str) -> Path:
    """Write ``cards`` to ``path`` as an Anki package, in one deck named ``deck_name``."""
    deck = genanki.Deck(_stable_id(f"bookqa deck {deck_name}"), deck_name)
    model = _model()
    for card in cards:
        deck.add_note(genanki.Note(
            model=model, fields=[_html(card.front), _html(card.back), html.escape(card.page_label), html.escape(card.section)],
            guid=genanki.guid_for("bookqa", card.id), tags=[f"bookqa::{card.origin}"],
        ))
    genanki.Package(deck).write_to_file(str(path))
    return path


def write_csv(cards: Sequence[Card], path: Path) -> Path:
    """Write ``cards`` to ``path`` as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Chinese):
    front, back, page (physical), page_label, section, origin, id."""
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["front", "back", "page", "page_label", "section", "origin", "id"])
        for card in cards:
            writer.writerow([card.front, card.back, card.page, card.page_label, card.section, card.origin, card.id])
    return path


def export(cards: Sequence[Card], path: str | Path, deck_name: str) -> Path:
    """Write ``cards`` to ``path`` in the format its suffix names (.apkg or .csv)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise BookQAError(f"Cannot export cards as {path.suffix or 'a file without a suffix'}.", "Name the file .apkg (Anki) or .csv.")
    if not path.parent.is_dir():
        raise BookQAError(f"There is no folder {str(path.parent)!r} to write {path.name} into.", "Create it, or give another path.")
    return write_apkg(cards, path, deck_name) if path.suffix.lower() == ".apkg" else write_csv(cards, path)


def deck_bytes(cards: Sequence[Card], suffix: str, deck_name: str) -> bytes:
    """``cards`` exported as a file with ``suffix`` (.apkg or .csv), as bytes (for a download)."""
    with tempfile.TemporaryDirectory(prefix="bookqa-deck-") as folder:
        return export(cards, Path(folder) / f"deck{suffix}", deck_name).read_bytes()
