"""UI benchmark on the real server in Debian's Chromium: the overview's first render after the server starts,
switching pages with everything cached, and the server's peak memory with a book loaded and used.

    BOOKQA_DATA_DIR=/tmp/bookqa-d2l .venv/bin/python -m bookqa index ../shared/books/d2l-zh.pdf   # once
    .venv/bin/python -m bench.bench_ui --data-dir /tmp/bookqa-d2l [--rounds 5] [--screenshots docs/screenshots]

Without --data-dir the sample book is built into a temporary library. Targets: first render under 3 s,
a page switch under 0.5 s. Times are measured in the browser, from the navigation to the page shown and the
app idle, so they include Chromium's own work (loading and drawing Streamlit's and Plotly's JavaScript); a bare
two-page Streamlit app measured the same way in the same run is the baseline, and script_run_* is the server
side alone (each page's script with everything cached, in AppTest). Figures are printed and written as JSON to
bench/results/ui.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from streamlit.testing.v1 import AppTest

from bookqa.config import Settings
from bookqa.library.sample import add_sample
from bookqa.library.store import Library

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the app server the browser tests use
from app_server import ROOT, AppServer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAGE_FILES = {"Chat": "app_pages/chat.py", "Retrieval inspector": "app_pages/retrieval_inspector.py",
              "Chapter browser": "app_pages/chapter_browser.py", "Overview": "app_pages/overview.py"}
PAGES = {"Chat": "Chat", "Retrieval inspector": "Retrieval inspector", "Chapter browser": "Chapter browser",
         "Overview": "Overview"}
"""Sidebar link -> the page's title."""
WAIT_MS = 600_000


def settled(page: Page, title: str) -> None:
    """Wait until ``title`` is shown and the app has finished running."""
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=WAIT_MS)
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=WAIT_MS)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of process ``pid``, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def switch_times(page: Page, pages: dict[str, str], rounds: int, prefix: str = "") -> dict:
    """Median and slowest time from a click on a sidebar link to the page shown and the app idle."""
    nav = page.get_by_test_id("stSidebarNav")
    switches: dict[str, list[float]] = {title: [] for title in pages.values()}
    for _ in range(rounds):
        for link, title in pages.items():
            started = time.perf_counter()
            nav.get_by_text(link, exact=True).click()
            settled(page, title)
            switches[title].append(time.perf_counter() - started)
    every = [s for values in switches.values() for s in values]
    return {
        f"{prefix}page_switch_median_s": round(statistics.median(every), 3),
        f"{prefix}page_switch_max_s": round(max(every), 3),
        f"{prefix}page_switch_median_by_page_s": {t: round(statistics.median(v), 3) for t, v in switches.items()},
    }


BASELINE_HOME = """import streamlit as st
st.navigation([st.Page("one.py", title="One", default=True), st.Page("two.py", title="Two")]).run()
"""


def baseline(folder: Path, rounds: int, browser) -> dict:
    """The same measurements on a bare two-page Streamlit app (a title per page), served and browsed the same way:
    what the machine, Streamlit and Chromium cost before BookQA does anything."""
    folder.mkdir()
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "config.toml").write_text((ROOT / ".streamlit" / "config.toml").read_text())
    (folder / "Home.py").write_text(BASELINE_HOME)
    for name in ("one", "two"):
        (folder / f"{name}.py").write_text(f"import streamlit as st\nst.title({name.title()!r})\n")
    with AppServer({}, folder / "server.log", script=folder / "Home.py") as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.perf_counter()
        page.goto(server.url)
        settled(page, "One")
        figures = {"baseline_first_render_s": round(time.perf_counter() - started, 2)}
        figures.update(switch_times(page, {"Two": "Two", "One": "One"}, rounds, prefix="baseline_"))
        page.close()
    return figures


def script_times(data_dir: Path, rounds: int, question: str) -> dict:
    """Server side only: how long one run of each page's script takes with everything cached (Streamlit's
    AppTest in this process, no browser), median over ``rounds``."""
    os.environ.update({"BOOKQA_DATA_DIR": str(data_dir), "BOOKQA_BACKEND": "extractive"})
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=WAIT_MS / 1000).run()
    at.switch_page(PAGE_FILES["Chat"]).run()
    at.chat_input[0].set_value(question).run()
    runs: dict[str, list[float]] = {title: [] for title in PAGE_FILES}
    for _ in range(rounds + 1):  # the first round fills the caches
        for title, path in PAGE_FILES.items():
            started = time.perf_counter()
            at.switch_page(path).run()
            runs[title].append(time.perf_counter() - started)
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    every = [s for values in runs.values() for s in values[1:]]
    return {"script_run_median_s": round(statistics.median(every), 3), "script_run_max_s": round(max(every), 3),
            "script_run_median_by_page_s": {t: round(statistics.median(v[1:]), 3) for t, v in runs.items()}}


def run(data_dir: Path, rounds: int, question: str, follow_up: str, shots: Path | None, log: Path) -> dict:
    manifests = Library(Settings(data_dir=data_dir)).manifests()
    figures: dict = {"book": manifests[0].title, "pages": manifests[0].page_count, "chunks": manifests[0].chunks}
    env = {"BOOKQA_DATA_DIR": str(data_dir), "BOOKQA_BACKEND": "extractive"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        with AppServer(env, log) as server:
            figures.update(measure_app(server, browser, rounds, question, follow_up, shots))
        figures.update(baseline(log.parent / "baseline", rounds, browser))
        browser.close()
    figures.update(script_times(data_dir, rounds, question))
    return figures


def take_screenshots(page: Page, folder: Path, follow_up: str) -> None:
    """Screenshots for the README: the chat after a follow-up, the page its first source opens, the inspector
    and the overview (each taken once the app is idle)."""
    folder.mkdir(parents=True, exist_ok=True)
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(follow_up)
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").nth(3)
    answer.get_by_test_id("stPageLink").first.wait_for(timeout=WAIT_MS)
    settled(page, "Chat")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2000})  # the whole conversation
    page.wait_for_timeout(1000)
    page.screenshot(path=str(folder / "chat.png"))
    page.set_viewport_size(size)
    answer.get_by_test_id("stPageLink").first.click()
    page.get_by_test_id("stImage").wait_for(timeout=WAIT_MS)
    settled(page, "Chapter browser")
    page.screenshot(path=str(folder / "chapter-browser.png"))
    page.get_by_test_id("stSidebarNav").get_by_text("Retrieval inspector", exact=True).click()
    page.get_by_test_id("stImage").wait_for(timeout=WAIT_MS)
    settled(page, "Retrieval inspector")
    page.wait_for_timeout(1000)  # the table draws on a canvas after the app is idle
    page.screenshot(path=str(folder / "retrieval-inspector.png"))
    page.get_by_test_id("stSidebarNav").get_by_text("Overview", exact=True).click()
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=WAIT_MS)
    settled(page, "Overview")
    page.screenshot(path=str(folder / "overview.png"))


def measure_app(server: AppServer, browser, rounds: int, question: str, follow_up: str, shots: Path | None) -> dict:
    """First render, first answer, page switches and peak memory of BookQA's server."""
    figures = {"server_start_s": round(server.started_s, 2), "rss_after_start_mb": round(peak_rss_mb(server.pid), 1)}
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    started = time.perf_counter()
    page.goto(server.url)
    page.get_by_test_id("stMetric").first.wait_for(timeout=WAIT_MS)
    figures["overview_first_content_s"] = round(time.perf_counter() - started, 2)  # title, book facts
    page.get_by_test_id("stPlotlyChart").wait_for(timeout=WAIT_MS)
    settled(page, "Overview")
    figures["overview_first_complete_s"] = round(time.perf_counter() - started, 2)  # with the chart drawn
    figures["rss_after_overview_mb"] = round(peak_rss_mb(server.pid), 1)

    nav = page.get_by_test_id("stSidebarNav")
    started = time.perf_counter()
    nav.get_by_text("Chat", exact=True).click()
    settled(page, "Chat")
    figures["chat_first_open_s"] = round(time.perf_counter() - started, 2)  # loads the model and the index
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    page.get_by_test_id("stChatMessage").nth(1).get_by_test_id("stPageLink").first.wait_for(timeout=WAIT_MS)
    settled(page, "Chat")
    figures["first_answer_s"] = round(time.perf_counter() - started, 2)
    if shots:
        take_screenshots(page, shots, follow_up)
    for link, title in PAGES.items():  # first visits: the inspector searches, the browser renders a page
        nav.get_by_text(link, exact=True).click()
        settled(page, title)
    figures.update(switch_times(page, PAGES, rounds))
    figures["peak_rss_mb"] = round(peak_rss_mb(server.pid), 1)
    page.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a library with the book to load (default: the sample book)")
    parser.add_argument("--rounds", type=int, default=5, help="page switches per page")
    parser.add_argument("--question", default="稠密连接网络（DenseNet）和ResNet有什么区别？")
    parser.add_argument("--follow-up", default="它的过渡层是做什么的？", help="asked when taking screenshots")
    parser.add_argument("--screenshots", type=Path, help="save README screenshots to this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            add_sample(Library(Settings(data_dir=data_dir)))
        figures = run(data_dir, args.rounds, args.question, args.follow_up, args.screenshots, Path(tmp) / "server.log")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ui.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
