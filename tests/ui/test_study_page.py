"""The Study page in streamlit's AppTest on a library holding the Chinese study fixture book (the fake embedder,
extractive answers): the sheet, a self-test answered and graded, cards reviewed, progress per profile, "Study this
section" from the chapter browser, and removing a book with or without its progress."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterator

import pytest
import streamlit as st
from conftest import FAKE, HOME, TIMEOUT, use_environment
from fakes import FakeEmbedder
from streamlit.testing.v1 import AppTest
from study_fixtures import ZH_BOOK, build_zh_study_book

from bookqa.config import Settings
from bookqa.library.store import Library
from bookqa.study.progress import ProgressStore
from bookqa.text import escape_markdown

STUDY, BROWSER, OVERVIEW = "app_pages/study.py", "app_pages/chapter_browser.py", "app_pages/overview.py"


@pytest.fixture(scope="session")
def study_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ui-study")
    data = folder / "data"
    Library(Settings(data_dir=data, embedding_model=FAKE["embedding_model"])).add(
        build_zh_study_book(folder / "zh.pdf"), embedder=FakeEmbedder())
    return data


@pytest.fixture
def study_app(app_environment: Path, study_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """A session of the app on a fresh copy of the study library, on the Study page."""
    data = tmp_path / "data"
    shutil.copytree(study_library, data)
    use_environment(monkeypatch, data_dir=str(data))
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    yield at.switch_page(STUDY).run()
    st.cache_resource.clear()
    st.cache_data.clear()


def pick(at: AppTest, number: str) -> AppTest:
    picker = next(s for s in at.selectbox if s.label == "Chapter or section")
    return picker.select_index(next(i for i, label in enumerate(picker.options) if label.strip().startswith(number + " "))).run()


def chart(at: AppTest) -> dict[str, list]:
    """The progress chart's bars: measure -> heights, one per section of the chapter."""
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    return {trace["name"]: list(trace["y"]) for trace in figure["data"]}


def items(at: AppTest, number: str) -> list:
    return [test for key, test in at.session_state["_self_tests"].items() if key[1] == number][0]["items"]


def answer(at: AppTest, number: str, right: bool) -> AppTest:
    for item in items(at, number):
        wanted = item.answer if right else next((o for o in item.options if o != item.answer), "不知道")
        if item.options:
            next(r for r in at.radio if r.key == f"answer-{item.id}").set_value(wanted)
        else:
            next(t for t in at.text_input if t.key == f"answer-{item.id}").input(wanted)
    return next(b for b in at.button if b.label == "Check my answers").click().run()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_sheet_of_a_section(study_app: AppTest) -> None:
    at = pick(study_app, "1.1")
    assert not at.exception
    assert [t.value for t in at.title] == ["Study"]
    shown = " ".join(m.value for m in at.markdown)
    assert all(point in shown for point in ZH_BOOK["1.1"].key_points)
    assert all(f"**{term}**" in shown for term, _ in ZH_BOOK["1.1"].terms)
    assert [e.label for e in at.main.expander] == [escape_markdown(text) for text in ZH_BOOK["1.1"].exercises]
    assert any(link.label.startswith("Hint: p.") for link in at.get("page_link"))
    assert at.sidebar.text_input[0].label == "Profile" and at.sidebar.text_input[0].value == "me"


def test_a_self_test_is_graded_recorded_and_charted(study_app: AppTest) -> None:
    at = pick(study_app, "1.1")
    assert chart(at)["best self-test"] == [0, 0, 0]  # chapter 1, 1.1, 1.2
    n = len(items(at, "1.1"))
    assert n == 6
    at = answer(at, "1.1", right=True)
    assert not at.exception
    assert metric(at, "Score") == f"{n} of {n}"
    assert chart(at)["best self-test"] == [0, 100, 0]
    assert any("1 卷积神经网络 and its sections:" in c.value and "· 1 self-tests ·" in c.value for c in at.caption)  # 1.1's counts
    assert any(link.label.startswith("p.") for link in at.get("page_link"))  # each key opens its page
    assert metric(at, "Due now") == "0"  # nothing was answered wrong


def test_wrong_answers_become_cards_to_review(study_app: AppTest) -> None:
    at = answer(pick(study_app, "1.1"), "1.1", right=False)
    assert metric(at, "Score") == "0 of 6"
    assert metric(at, "Due now") == "6"
    next(b for b in at.button if b.label == "Show the answer").click().run()
    next(b for b in at.button if b.label == "Good").click().run()
    assert not at.exception
    assert metric(at, "Due now") == "5" and metric(at, "Cards") == "6"


def test_profiles_keep_their_own_progress(study_app: AppTest) -> None:
    at = study_app
    at.sidebar.text_input[0].input("ana").run()
    at = answer(pick(at, "1.1"), "1.1", right=True)
    assert chart(at)["best self-test"][1] == 100
    at.sidebar.text_input[0].input("ben").run()
    assert chart(at)["best self-test"] == [0, 0, 0]
    at.switch_page(OVERVIEW).run()
    assert any("Progress of **ben**: 0 of 4 pages viewed · 0 of 5 sections self-tested" in c.value for c in at.caption)
    at.sidebar.text_input[0].input("ana").run()
    assert any("Progress of **ana**" in c.value and "1 of 5 sections self-tested" in c.value for c in at.caption)


def test_study_this_section_from_the_chapter_browser(study_app: AppTest) -> None:
    at = study_app
    at.query_params["page"] = "4"
    at.switch_page(BROWSER).run()
    next(b for b in at.button if b.label.startswith("Study ")).click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Study"]
    picker = next(s for s in at.selectbox if s.label == "Chapter or section")
    assert picker.options[picker.index].strip() == "2.1 注意力汇聚"
    assert chart(at)["pages viewed"][0] == 100  # chapter 2 is page 4, viewed just now


@pytest.mark.parametrize("forget", [False, True])
def test_removing_a_book_asks_whether_to_keep_its_progress(study_app: AppTest, forget: bool) -> None:
    at = answer(pick(study_app, "1.1"), "1.1", right=True)
    book_id = at.sidebar.selectbox[0].value
    data = Path(Settings.from_env().data_dir)
    at.switch_page(OVERVIEW).run()
    if forget:
        next(c for c in at.checkbox if c.key == f"forget-{book_id}").check().run()
    next(b for b in at.button if b.label == "Remove for good").click().run()
    assert not at.exception
    tests = ProgressStore(data / "study.sqlite3").book("me", book_id, [], 4).tests
    assert tests == (0 if forget else 1)


def test_the_study_page_renders_on_the_sample_book(app: AppTest) -> None:
    app.switch_page(STUDY).run()
    assert not app.exception
    pick(app, "2.1")
    assert not app.exception
    assert {"填充", "步幅"} <= {i.answer for i in items(app, "2.1")}  # the sample's 填充（padding） and 步幅（stride）
    assert len(app.get("plotly_chart")) == 1


def test_a_chat_question_counts_for_its_section(study_app: AppTest) -> None:
    at = study_app
    at.sidebar.text_input[0].input("ana").run()
    at.switch_page("app_pages/chat.py").run()
    at.chat_input[0].set_value("什么是步幅？").run()
    assert not at.exception
    at.switch_page(OVERVIEW).run()
    assert any("Progress of **ana**" in c.value and "1 questions asked" in c.value for c in at.caption)
    at.switch_page(STUDY).run()
    pick(at, "1.1")
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    counts = dict(zip(figure["data"][0]["x"], (data[1] for data in figure["data"][0]["customdata"])))
    assert counts["1.1"].endswith("1 questions")  # the answer's best source is in 1.1 (步幅 is defined in 1.1.2)
