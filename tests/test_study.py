"""Study sheets, self-tests, grading and open questions on the study fixture books (the fake embedder; the real
embedded model in one slow test)."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pymupdf
import pytest
from fakes import FakeEmbedder
from study_fixtures import EN_BOOK, ZH_BOOK, build_en_study_book, build_zh_study_book

from bookqa.answering.backends.base import ChatBackend, Generation, Reply
from bookqa.config import Settings
from bookqa.errors import BookQAError
from bookqa.library.store import Library
from bookqa.study.guide import StudyGuide
from bookqa.study.material import Part, heading_part
from bookqa.index.retriever import Scope
from bookqa.study.open_questions import open_items
from bookqa.study.quiz import ItemType, make_items
from bookqa.study.keys import fold
from bookqa.study.terms import term_shape
from bookqa.types import Language, Page, Pages


@pytest.fixture(scope="session")
def study_library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """A library holding both study books, built with the fake embedder."""
    folder = tmp_path_factory.mktemp("study")
    library = Library(Settings(data_dir=folder / "data", embedding_model="fake-256"))
    for build, name in ((build_zh_study_book, "zh.pdf"), (build_en_study_book, "en.pdf")):
        library.add(build(folder / name), embedder=FakeEmbedder())
    return library


def _guide(library: Library, title: str) -> StudyGuide:
    manifest = next(m for m in library.manifests() if m.title == title)
    return StudyGuide(library.open(manifest.book_id, embedder=FakeEmbedder()))


@pytest.fixture(scope="session")
def zh(study_library: Library) -> StudyGuide:
    return _guide(study_library, "卷积与注意力")


@pytest.fixture(scope="session")
def en(study_library: Library) -> StudyGuide:
    return _guide(study_library, "Programs and Values")


BOOKS = [("zh", ZH_BOOK), ("en", EN_BOOK)]


def _mentions(text: str, term: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.IGNORECASE) is not None if term.isascii() else term in text


def _plain(text: str) -> str:
    """``text`` NFKC-normalised, Unicode hyphens as "-", without whitespace (the independent check's normalisation,
    as bench/bench_study.py has it)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).replace("\u2010", "-").replace("\u2011", "-"))


def _printed(pdf: Path, page: int) -> str:
    """The text of a page as PyMuPDF gives it, by :func:`_plain` (an independent reading)."""
    with pymupdf.open(pdf) as doc:
        return _plain(doc[page - 1].get_text())


@pytest.mark.parametrize("name, expected", BOOKS)
def test_sheets_find_the_summary_terms_exercises_and_captions(request, name, expected) -> None:
    guide: StudyGuide = request.getfixturevalue(name)
    for number, wanted in expected.items():
        sheet = guide.sheet(guide.find(number))
        if wanted.key_points:
            assert [p.text for p in sheet.key_points] == list(wanted.key_points), number
            assert all(p.summary for p in sheet.key_points)
        assert [(t.term, t.page) for t in sheet.terms] == list(wanted.terms), number
        assert [e.text.split("\n")[0] for e in sheet.exercises] == list(wanted.exercises), number
        assert [(f.caption, f.page) for f in sheet.figures] == list(wanted.captions), number


def test_a_restarted_numbering_is_the_sub_questions_of_an_exercise(zh: StudyGuide) -> None:
    third = zh.sheet(zh.find("1.1")).exercises[2]
    assert third.text.split("\n")[1:] == ["1. 不使用填充时，输出形状是多少？", "2. 使用填充时呢？"]


def test_exercise_hints_are_passages_of_the_chapter_and_not_the_exercises(zh: StudyGuide) -> None:
    chapter = zh.find("1")
    for exercise in zh.sheet(zh.find("1.1")).exercises:
        assert exercise.hints
        for hint in exercise.hints:
            assert chapter.start_page <= hint.page <= chapter.end_page
            assert "练习" not in hint.excerpt and "构建一个" not in hint.excerpt


def test_a_section_without_a_summary_gets_its_central_sentences(en: StudyGuide) -> None:
    section = en.find("2.1")
    points = en.sheet(section).key_points
    body = [s.text for s in en.material(section).sentences if s.part == Part.BODY]
    assert 1 <= len(points) <= 5 and not any(p.summary for p in points)
    assert all(p.text in body for p in points)
    assert [body.index(p.text) for p in points] == sorted(body.index(p.text) for p in points)  # reading order


def test_part_headings_and_term_shapes() -> None:
    assert heading_part("小结") == Part.SUMMARY and heading_part("3.4 Exercises:") == Part.EXERCISES
    assert heading_part("1.8 Glossary") == Part.GLOSSARY and heading_part("Summary of the results of the run") is None
    assert term_shape("稠密块") and term_shape("growth rate") and term_shape("print_lyrics")
    assert not term_shape("x") and not term_shape("Exercise 1.1") and not term_shape("17") and not term_shape("的")


@pytest.mark.parametrize("name", ["zh", "en"])
def test_every_answer_key_is_printed_on_its_page_and_nothing_repeats(request, name) -> None:
    guide: StudyGuide = request.getfixturevalue(name)
    seen_types = set()
    for section in (s for s in guide.book.outline if s.level <= 2):
        for seed in range(3):
            items = guide.quiz(section, n=10, seed=seed)
            assert len({fold(i.answer) for i in items}) == len(items)
            assert len({i.evidence for i in items}) == len(items)
            for item in items:
                seen_types.add(item.type)
                assert _plain(item.key) in _printed(guide.book.pdf_path, item.page), item
                assert item.section_number and item.section_number.startswith(section.number)
                if item.options:
                    assert item.answer in item.options and len({fold(o) for o in item.options}) == len(item.options)
                if item.type in (ItemType.CLOZE, ItemType.CHOICE):
                    assert "____" in item.question and not _mentions(item.question, item.answer), item
                if item.type == ItemType.WHERE:  # no option's title names the term or is held by it
                    titles = [fold(option.split(" ", 1)[-1]) for option in item.options]
                    assert not any(t in fold(item.key) or fold(item.key) in t for t in titles), item
    assert seen_types == {ItemType.CLOZE, ItemType.CHOICE, ItemType.WHERE}


def test_a_thin_section_yields_no_items_and_a_small_one_is_not_padded(zh: StudyGuide) -> None:
    assert zh.quiz(zh.find("1.2"), n=10, seed=1) == []
    assert len(zh.quiz(zh.find("2.1"), n=10, seed=1)) == 3  # three terms, one item each


def test_the_same_seed_gives_the_same_test(en: StudyGuide) -> None:
    chapter = en.find("1")
    assert en.quiz(chapter, n=6, seed=7) == en.quiz(chapter, n=6, seed=7)
    assert len(en.quiz(chapter, n=4, seed=7)) == 4


def test_choice_options_are_terms_of_the_chapter_of_the_same_kind(zh: StudyGuide) -> None:
    chapter_terms = {t.term for t in zh.terms(zh.find("1"))}
    choices = [i for seed in range(5) for i in zh.quiz(zh.find("1.1"), seed=seed) if i.type == ItemType.CHOICE]
    assert choices
    for item in choices:
        assert set(item.options) <= chapter_terms and len(item.options) == 4


def test_an_item_whose_answer_is_not_on_its_page_is_dropped(zh: StudyGuide) -> None:
    section = zh.find("1.1")
    terms = zh.terms(section)
    moved = next(t for t in terms if t.term == "填充")
    pages = Pages(
        Page(p.number, p.label, p.text.replace("填充", "") if p.number == moved.page else p.text) for p in zh.book.pages
    )
    items = make_items("zh", section, zh.material(section), terms, terms, [], pages, n=10, seed=1)
    assert "填充" not in {i.answer for i in items}
    assert len(items) == len(terms) - 1


def test_exact_grading_folds_width_case_and_spacing(zh: StudyGuide, en: StudyGuide) -> None:
    item = next(i for i in zh.quiz(zh.find("1.1"), seed=2) if i.answer == "填充")
    assert zh.grade(item, " 填充 ").correct and zh.grade(item, "PADDING").correct  # the English name is accepted
    assert not zh.grade(item, "步幅").correct
    word = next(i for i in en.quiz(en.find("1.2"), seed=2) if i.answer == "integer")
    assert en.grade(word, "ＩＮＴＥＧＥＲ.").correct and not en.grade(word, "int").correct
    where = next(i for s in range(10) for i in en.quiz(en.find("1"), seed=s) if i.type == ItemType.WHERE)
    number = where.answer.split()[0]
    assert en.grade(where, number).correct and en.grade(where, where.answer).correct


class ScriptedModel(ChatBackend):
    """A chat backend that replies with the next scripted text (no model): for the open-question path."""

    name = "scripted"
    model = "scripted"
    generation = Generation(64, 0.0, 1.0, 1.0)
    prompt_tokens = 4096
    context_tokens = 8192

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts: list = []

    def stream(self, messages, **overrides):
        self.prompts.append(messages)
        return Reply(iter([self.replies.pop(0)]))

    def count_tokens(self, text: str) -> int:
        return len(text)


def test_open_questions_keep_only_answer_keys_that_cite_retrieved_pages(zh: StudyGuide) -> None:
    section = zh.find("1.1")
    reply = "\n".join([
        '{"question": "什么是填充？", "answer": "在输入边界周围添加额外的行和列", "page": "[p.2]"}',
        '{"question": "卷积核是什么？", "answer": "小型二维数组", "page": "[p.99]"}',
        'not json',
        '{"question": "互相关运算怎样滑动？", "answer": "从左上角开始从左到右、从上到下滑动", "page": "[p.1]"}',
    ])
    model = ScriptedModel(reply)
    hits = zh.book.retriever.search(section.title, k=4, scope=Scope(section="1.1"))
    items = open_items("zh", section, hits, zh.book.pages, model, zh.embedder, Language.ZH, n=5)
    assert [i.question for i in items] == ["什么是填充？", "互相关运算怎样滑动？"]  # p.99 was not retrieved
    for item in items:
        assert item.type == ItemType.OPEN and _plain(item.evidence) in _printed(zh.book.pdf_path, item.page)
    assert "p.1" in model.prompts[0][-1].content and "p.2" in model.prompts[0][-1].content
    taken = open_items("zh", section, hits, zh.book.pages, ScriptedModel(reply), zh.embedder, Language.ZH, n=5, taken=items[:1])
    assert [i.question for i in taken] == ["互相关运算怎样滑动？"]  # no two items share an answer or evidence


def test_with_a_model_a_self_test_also_asks_open_questions(zh: StudyGuide) -> None:
    reply = '{"question": "互相关运算怎样滑动？", "answer": "从左上角开始从左到右、从上到下滑动", "page": "[p.1]"}'
    items = zh.quiz(zh.find("1.1"), n=9, seed=1, backend=ScriptedModel(reply))
    assert len(items) <= 9 and [i.type for i in items].count(ItemType.OPEN) <= 1
    assert all(i.type != ItemType.OPEN for i in zh.quiz(zh.find("1.1"), n=9, seed=1))


def test_open_answers_are_graded_by_meaning_and_by_the_model(zh: StudyGuide) -> None:
    section = zh.find("1.1")
    model = ScriptedModel('{"question": "什么是填充？", "answer": "在输入边界周围添加额外的行和列", "page": "[p.2]"}')
    hits = zh.book.retriever.search(section.title, k=4, scope=Scope(section="1.1"))
    item = open_items("zh", section, hits, zh.book.pages, model, zh.embedder, Language.ZH, n=1)[0]
    assert zh.grade(item, item.evidence).correct
    assert not zh.grade(item, "深度学习的历史可以追溯到二十世纪").correct
    assert not zh.grade(item, "").correct
    assert zh.grade(item, "加零", backend=ScriptedModel("对")).how == "model"
    assert not zh.grade(item, "加零", backend=ScriptedModel("错")).correct


def test_an_unknown_section_names_the_fix(zh: StudyGuide) -> None:
    with pytest.raises(BookQAError, match="no section '9.9'") as info:
        zh.find("9.9")
    assert "python -m bookqa outline" in info.value.hint


@pytest.mark.slow
def test_with_the_real_embedded_model(tmp_path: Path, real_data_dir: Path) -> None:
    library = Library(Settings(data_dir=real_data_dir))
    manifest, _ = library.add(build_en_study_book(tmp_path / "en.pdf"))
    guide = StudyGuide(library.open(manifest.book_id))
    section = guide.find("2.1")
    points = guide.sheet(section).key_points
    assert points and not any(p.summary for p in points)
    body = [s.text for s in guide.material(section).sentences if s.part == Part.BODY]
    assert all(p.text in body for p in points)
    assert guide.sheet(guide.find("1.2")).exercises[0].hints  # retrieval finds passages of the chapter for it
    items = guide.quiz(guide.find("1"), n=10, seed=random.Random(1).randint(0, 99))
    assert len(items) >= 5
    for item in items:
        assert _plain(item.key) in _printed(guide.book.pdf_path, item.page)
    reply = '{"question": "What does an assignment statement do?", "answer": "It creates a variable and gives it a value.", "page": "[p.4]"}'
    hits = guide.book.retriever.search("assignment statement variable", k=3, scope=Scope(section="2.1"))
    item = open_items(manifest.book_id, section, hits, guide.book.pages, ScriptedModel(reply), guide.embedder, Language.EN, n=1)[0]
    assert guide.grade(item, "It makes a new variable and puts a value in it.").correct
    assert not guide.grade(item, "Whole numbers belong to the type integer.").correct
