"""The real app in Debian's Chromium: add the sample book, ask, follow a source to its page (the real embedded
model); and several sessions asking at once (the fake embedder). Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from app_server import AppServer
from conftest import ROOT, make_data_dir
from fakes import FAKE_ENVIRONMENT

pytestmark = [pytest.mark.browser, pytest.mark.slow]
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = ROOT / "test-artifacts" / "screenshots"
WAIT_MS = 180_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium fonts-noto-cjk)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def serve(data: Path, log: Path, fake: bool = False) -> AppServer:
    """The app on the library ``data``, answering extractively; ``fake``: embedding with the tests' fake."""
    env = {"BOOKQA_DATA_DIR": str(data), "BOOKQA_BACKEND": "extractive"}
    if fake:
        env.update(FAKE_ENVIRONMENT, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return AppServer(env, log)


def settle(page) -> None:
    """Wait until the app has finished running (Streamlit's running-man status widget is gone)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=WAIT_MS)


def shoot(page, name: str) -> None:
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(question)
    box.press("Enter")


def test_ask_and_follow_a_source_to_its_page(browser, tmp_path: Path, embedded_models_dir: Path) -> None:
    data = make_data_dir(tmp_path, embedded_models_dir)
    with serve(data, tmp_path / "server.log") as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        elsewhere: list[str] = []  # everything runs on this machine: no request leaves it
        page.on("request", lambda request: None if request.url.startswith((server.url, "data:", "blob:"))
                else elsewhere.append(request.url))
        page.goto(server.url)
        page.get_by_role("button", name="Add the sample book").click(timeout=WAIT_MS)
        page.get_by_text("Passages per chapter").wait_for(timeout=WAIT_MS)
        shoot(page, "overview")

        page.get_by_test_id("stSidebarNav").get_by_text("Chat").click()
        page.get_by_test_id("stChatInput").wait_for(timeout=WAIT_MS)
        settle(page)
        ask(page, "什么是DenseNet？")
        answer = page.get_by_test_id("stChatMessage").nth(1)
        answer.get_by_test_id("stPageLink").first.wait_for(timeout=WAIT_MS)
        assert "DenseNet" in answer.inner_text() and re.search(r"\[p\.\d+\]", answer.inner_text())
        shoot(page, "chat")

        source = answer.get_by_test_id("stPageLink").first
        cited = int(parse_qs(urlparse(source.locator("a").get_attribute("href")).query)["page"][0])
        label = re.search(r"p\.(\S+) ·", source.inner_text()).group(1)
        source.click()
        page.get_by_text("Text of this page").wait_for(timeout=WAIT_MS)
        settle(page)
        assert f"page={cited}" in page.url
        assert page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first.locator("input").input_value() == label
        page.get_by_text(f"Page {label} ({cited} of 8)").wait_for(timeout=WAIT_MS)  # the image's caption
        page.get_by_text("Cited in your chat").nth(1).wait_for(timeout=WAIT_MS)  # the list of cited pages and the badge
        shoot(page, "chapter-browser")

        shared = browser.new_page(viewport={"width": 1400, "height": 1000})  # the link in another session
        shared.goto(page.url)
        shared.get_by_text(f"Page {label} ({cited} of 8)").wait_for(timeout=WAIT_MS)
        settle(shared)
        assert f"page={cited}" in shared.url
        shared.close()

        page.get_by_test_id("stSidebarNav").get_by_text("Retrieval inspector").click()
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=WAIT_MS)
        assert page.get_by_test_id("stMain").get_by_test_id("stTextInput").locator("input").input_value() == "什么是DenseNet？"
        page.get_by_test_id("stPlotlyChart").wait_for(timeout=WAIT_MS)
        shoot(page, "retrieval-inspector")
        assert not page.get_by_test_id("stException").count()
        assert elsewhere == []
    assert "Traceback" not in (tmp_path / "server.log").read_text()


QUESTIONS = ["什么是DenseNet？", "卷积层的步幅是什么？", "What is self-attention?", "多头注意力是什么？"]


def test_several_sessions_ask_at_once(browser, sample_data_dir: Path, tmp_path: Path) -> None:
    with serve(sample_data_dir, tmp_path / "server.log", fake=True) as server:
        contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in QUESTIONS]
        pages = [context.new_page() for context in contexts]
        for page in pages:
            page.goto(f"{server.url}/chat")
        for page in pages:
            page.get_by_test_id("stChatInput").wait_for(timeout=WAIT_MS)
            settle(page)
        for page, question in zip(pages, QUESTIONS):  # all four are in flight together
            ask(page, question)
        for page, question in zip(pages, QUESTIONS):
            page.get_by_test_id("stChatMessage").nth(1).get_by_test_id("stPageLink").first.wait_for(timeout=WAIT_MS)
            settle(page)
            messages = page.get_by_test_id("stChatMessage")
            assert messages.count() == 2
            assert question in messages.nth(0).inner_text()
            shown = page.locator("body").inner_text()
            assert not [other for other in QUESTIONS if other != question and other in shown]  # no cross-talk
            assert re.search(r"\[p\.\d+\]", messages.nth(1).inner_text())
            assert not page.get_by_test_id("stException").count()
        for context in contexts:
            context.close()
    assert "Traceback" not in (tmp_path / "server.log").read_text()
