"""UI benchmark on the real server in Debian's Chromium: the overview's first render after the server starts,
switching pages with everything cached, and the server's peak memory with a book loaded and used.

    BOOKQA_DATA_DIR=/tmp/bookqa-d2l .venv/bin/python -m bookqa index ../shared/books/d2l-zh.pdf   # once
    .venv/bin/python -m bench.bench_ui --data-dir /tmp/bookqa-d2l [--rounds 5]

Without --data-dir the sample book is built into a temporary library. Targets: first render under 3 s,
a page switch under 0.5 s. Figures are printed and written as JSON to bench/results/ui.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bookqa.config import Settings
from bookqa.library import Library
from bookqa.sample import add_sample
from bookqa.ui.server import AppServer

RESULTS = Path(__file__).resolve().parent / "results"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
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


def run(data_dir: Path, rounds: int, question: str, log: Path) -> dict:
    manifests = Library(Settings(data_dir=data_dir)).manifests()
    figures: dict = {"book": manifests[0].title, "pages": manifests[0].page_count, "chunks": manifests[0].chunks}
    env = {"BOOKQA_DATA_DIR": str(data_dir), "BOOKQA_BACKEND": "extractive"}
    with AppServer(env, log) as server, sync_playwright() as p:
        figures["server_start_s"] = round(server.started_s, 2)
        figures["rss_after_start_mb"] = round(peak_rss_mb(server.pid), 1)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.perf_counter()
        page.goto(server.url)
        settled(page, "Overview")
        page.get_by_test_id("stPlotlyChart").wait_for(timeout=WAIT_MS)
        figures["overview_first_render_s"] = round(time.perf_counter() - started, 2)
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
        for link, title in PAGES.items():  # first visits: the inspector searches, the browser renders a page
            nav.get_by_text(link, exact=True).click()
            settled(page, title)

        switches: dict[str, list[float]] = {title: [] for title in PAGES.values()}
        for _ in range(rounds):
            for link, title in PAGES.items():
                started = time.perf_counter()
                nav.get_by_text(link, exact=True).click()
                settled(page, title)
                switches[title].append(time.perf_counter() - started)
        every = [s for values in switches.values() for s in values]
        figures["page_switch_median_s"] = round(statistics.median(every), 3)
        figures["page_switch_max_s"] = round(max(every), 3)
        figures["page_switch_median_by_page_s"] = {t: round(statistics.median(v), 3) for t, v in switches.items()}
        figures["peak_rss_mb"] = round(peak_rss_mb(server.pid), 1)
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a library with the book to load (default: the sample book)")
    parser.add_argument("--rounds", type=int, default=5, help="page switches per page")
    parser.add_argument("--question", default="什么是稠密连接网络（DenseNet）？")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            add_sample(Library(Settings(data_dir=data_dir)))
        figures = run(data_dir, args.rounds, args.question, Path(tmp) / "server.log")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ui.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
