"""``python -m bookqa study | quiz | cards`` on the study fixture books, in-process with the fake embedder."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from study_fixtures import ZH_BOOK, build_zh_study_book

from bookqa.cli import main
from bookqa.study.cards import missed_card
from bookqa.study.progress import ProgressStore
from bookqa.study.quiz import Item, ItemType
from bookqa.types import Pages


@pytest.fixture
def book(monkeypatch, tmp_path, fake_embedding) -> Path:
    monkeypatch.setenv("BOOKQA_DATA_DIR", str(tmp_path / "data"))
    return build_zh_study_book(tmp_path / "zh.pdf")


def test_study_prints_the_sheet_as_json(book, capsys) -> None:
    assert main(["study", str(book), "--section", "1.1", "--json"]) == 0
    sheet = json.loads(capsys.readouterr().out)
    assert sheet["section"] == "1.1 卷积层"
    assert [p["text"] for p in sheet["key_points"]] == list(ZH_BOOK["1.1"].key_points)
    assert [(t["term"], t["page"]) for t in sheet["terms"]] == list(ZH_BOOK["1.1"].terms)
    assert all(t["page_label"] == str(t["page"]) for t in sheet["terms"])
    assert len(sheet["exercises"]) == 3 and all(e["hints"] for e in sheet["exercises"])
    assert main(["study", str(book), "--section", "1.1"]) == 0
    assert "Key terms:" in capsys.readouterr().out


def test_quiz_prints_one_json_line_per_item_with_the_fields_asked_for(book, capsys) -> None:
    assert main(["quiz", str(book), "--section", "1.1", "--n", "5", "--seed", "3", "--json", "--backend", "extractive"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 5
    for row in rows:
        fields = {"id", "type", "question", "answer", "evidence", "page", "page_label", "section"}
        assert fields <= set(row) and ("options" in row) == (row["type"] in ("choice", "where"))
    assert main(["quiz", str(book), "--section", "1.1", "--n", "5", "--seed", "3", "--json", "--backend", "extractive"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == rows  # the same seed, the same test


def test_a_thin_section_says_so_and_an_unknown_one_names_the_fix(book, capsys) -> None:
    assert main(["quiz", str(book), "--section", "1.2", "--backend", "extractive"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "defines no terms" in captured.err
    assert main(["quiz", str(book), "--section", "8.1", "--backend", "extractive"]) == 2
    assert "no section '8.1'" in capsys.readouterr().err


def test_cards_export_a_deck_with_the_terms_and_the_items_missed(book, capsys, tmp_path) -> None:
    assert main(["index", str(book)]) == 0
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    book_id = json.loads(capsys.readouterr().out)[0]["book_id"]
    missed = Item("ch-1", ItemType.CLOZE, "填空：____ 是什么？", "步幅", "叫做步幅。", 2, "1.1.2 填充和步幅", "1.1.2", "步幅")
    ProgressStore(tmp_path / "data" / "study.sqlite3").add_cards("ana", book_id, [missed_card(book_id, missed, "1.1", Pages(()))])
    deck = tmp_path / "deck.apkg"
    assert main(["cards", book_id, "--section", "1", "--profile", "ana", "--export", str(deck)]) == 0
    assert "Wrote 7 cards" in capsys.readouterr().out  # the six terms of chapter 1 and the item ana missed
    assert "collection.anki2" in zipfile.ZipFile(deck).namelist()
    assert main(["cards", book_id, "--section", "1", "--export", str(tmp_path / "deck.csv")]) == 0
    assert "Wrote 6 cards" in capsys.readouterr().out  # "me" missed nothing
    assert main(["cards", book_id, "--section", "1", "--export", str(tmp_path / "deck.txt")]) == 2
    assert ".apkg (Anki) or .csv" in capsys.readouterr().err
