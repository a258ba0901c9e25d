"""The Study page in Debian's Chromium (the fake embedder, extractive answers): open Study from the chapter browser,
take a self-test, answer it, see the score and the progress chart change, review a due card. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FAKE
from fakes import FakeEmbedder
from study_fixtures import ZH_FIELD, ZH_PADDING, ZH_XCORR, ZH_XCORR_2, ZH_BOOK, build_zh_study_book
from test_browser import WAIT_MS, browser, serve, settle, shoot  # noqa: F401  (browser is a fixture)

from bookqa.config import Settings
from bookqa.library.store import Library

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXT = re.sub(r"（[^）]*）", "", "".join((ZH_XCORR, ZH_XCORR_2, ZH_PADDING, ZH_FIELD)))
"""The body of section 1.1 without the English names in parentheses (what a blanked sentence is cut from)."""
PARTS = {"1.1.1 互相关运算": ZH_XCORR + ZH_XCORR_2, "1.1.2 填充和步幅": ZH_PADDING, "1.1.3 感受野": ZH_FIELD}
TERMS = [term for term, _ in ZH_BOOK["1.1"].terms]


def solve(question: str, options: list[str]) -> str:
    """The answer to an item on section 1.1, worked out from the book's text (as a student who read it would)."""
    named = re.search(r"“(.+)”", question)
    if named:  # which part explains a term
        return next(option for option in options if named.group(1) in PARTS[option])
    blanked = re.split(r"[：？]", question, maxsplit=1)[1]
    return next(term for term in (options or TERMS) if blanked.replace("____", term) in TEXT)


def progress_bars(page) -> dict[str, list[float]]:
    """The bars of the progress chart as plotly holds them in the page: measure -> heights (once the tab's rerun
    has finished and the chart is drawn)."""
    settle(page)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(e => e.data && e.data.length)",
                           timeout=WAIT_MS)
    data = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(e => e.data.map(t => [t.name, t.y]))")
    return {name: list(heights) for name, heights in data[0]}


def metric(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
    return box.get_by_test_id("stMetricValue").inner_text()


def test_take_a_self_test_and_review_a_missed_card(browser, tmp_path: Path) -> None:  # noqa: F811
    data = tmp_path / "data"
    Library(Settings(data_dir=data, embedding_model=FAKE["embedding_model"])).add(
        build_zh_study_book(tmp_path / "zh.pdf"), embedder=FakeEmbedder())
    with serve(data, tmp_path / "server.log", fake=True) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(f"{server.url}/chapter_browser?page=1")
        page.get_by_role("button", name="Study 1.1 卷积层").click(timeout=WAIT_MS)
        page.get_by_text("Key terms (6)").wait_for(timeout=WAIT_MS)
        settle(page)
        assert "1.1 卷积层" in page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first.locator("input").input_value()
        assert "二维卷积层的核心计算是二维互相关运算。" in page.get_by_test_id("stMain").inner_text()  # its summary
        shoot(page, "study-sheet")

        page.get_by_role("tab", name="Progress").click()
        before = progress_bars(page)
        assert before["best self-test"] == [0, 0, 0]

        page.get_by_role("tab", name="Self-test").click()
        settle(page)
        form = page.get_by_test_id("stForm")
        form.get_by_role("button", name="Check my answers").wait_for(timeout=WAIT_MS)
        settle(page)
        questions = form.locator("[data-testid='stRadio'], [data-testid='stTextInput']")
        total = questions.count()
        assert total == 6
        right = 0
        for index in range(total):
            question = questions.nth(index)
            label = question.get_by_test_id("stWidgetLabel").inner_text().split(". ", 1)[1]
            radio = question.get_attribute("data-testid") == "stRadio"
            choices = question.locator("label").filter(has=page.locator("input[type=radio]"))
            options = [o.strip() for o in choices.all_inner_texts()] if radio else []
            answer = solve(label.replace("\\", ""), options)
            wrong = index % 3 == 2  # answer a third of the items wrong, on purpose
            if options:
                choice = next(o for o in options if o != answer) if wrong else answer
                choices.filter(has_text=choice).first.click()
            else:
                question.locator("input").fill("不知道" if wrong else answer)
            right += not wrong
        form.get_by_role("button", name="Check my answers").click()
        page.get_by_text("Score").wait_for(timeout=WAIT_MS)
        settle(page)
        assert metric(page, "Score") == f"{right} of {total}"
        assert page.get_by_test_id("stMain").get_by_test_id("stPageLink").count() >= total  # every key links its page
        shoot(page, "study-self-test")

        page.get_by_role("tab", name="Progress").click()
        after = progress_bars(page)
        assert after["best self-test"] == [0, round(100 * right / total), 0]
        shoot(page, "study-progress")

        page.get_by_role("tab", name="Cards").click()
        page.get_by_role("button", name="Show the answer").wait_for(timeout=WAIT_MS)
        settle(page)
        due = int(metric(page, "Due now"))
        assert due == total - right  # each item answered wrong became a card, due now
        page.get_by_role("button", name="Show the answer").click()
        page.get_by_role("button", name="Good").wait_for(timeout=WAIT_MS)
        settle(page)
        shoot(page, "study-card")
        page.get_by_role("button", name="Good").click()
        settle(page)
        assert int(metric(page, "Due now")) == due - 1
        assert not page.get_by_test_id("stException").count()
    assert "Traceback" not in (tmp_path / "server.log").read_text()
