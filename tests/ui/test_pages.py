"""Every page of the app in streamlit's AppTest, on a library holding the sample book (extractive answers, the fake
embedder; the slow tier asks with the real embedded model)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs

import pytest
import streamlit as st
from conftest import FAKE, HOME, TIMEOUT, ask, use_environment
from fakes import FakeEmbedder
from streamlit.testing.v1 import AppTest

from bookqa.config import Settings
from bookqa.library.sample import add_sample, build_sample_pdf
from bookqa.library.store import Library

CHAT, INSPECTOR, BROWSER = "app_pages/chat.py", "app_pages/retrieval_inspector.py", "app_pages/chapter_browser.py"


def texts(elements) -> list[str]:
    return [str(element.value) for element in elements]


def source_pages(at: AppTest) -> list[int]:
    """The physical pages the chat's source links open in the chapter browser."""
    return [int(parse_qs(link.proto.query_string)["page"][0]) for link in at.get("page_link")]


def test_overview_shows_the_book_and_the_sidebar(app: AppTest, sample_book_id: str) -> None:
    assert not app.exception
    assert texts(app.title) == ["Overview"]
    assert app.header[0].value == "深度学习小册：BookQA 示例书"
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Pages"] == "8" and metrics["Sections"] == "11" and metrics["Pages left out"] == "3"
    assert len(app.get("plotly_chart")) == 1
    assert [b.label for b in app.button if b.label.startswith("Rebuild")] == ["Rebuild"]
    assert app.sidebar.selectbox[0].value == sample_book_id
    sidebar = " ".join(texts(app.sidebar.caption))
    assert "Answers: extractive" in sidebar and "Device:" in sidebar and "Index ready: 11 passages" in sidebar


def test_a_book_is_renamed_from_the_library_list(app: AppTest, sample_book_id: str, sample_data_dir: Path) -> None:
    library = Library(Settings(data_dir=sample_data_dir))
    original = library.find(sample_book_id).title
    try:
        app.text_input(key=f"name-{sample_book_id}").input("我的深度学习小册").run()
        next(b for b in app.button if b.label == "Save the name").click().run()
        assert not app.exception
        assert app.header[0].value == "我的深度学习小册"
        assert library.find(sample_book_id).title == "我的深度学习小册"
    finally:
        library.rename(sample_book_id, original)


def test_every_page_renders(app: AppTest) -> None:
    for page in (CHAT, INSPECTOR, BROWSER, "app_pages/overview.py"):
        app.switch_page(page).run()
        assert not app.exception, page
        assert app.title, page


def test_a_chat_turn_streams_an_answer_with_sources(app: AppTest) -> None:
    ask(app, "什么是DenseNet？")
    assert not app.exception
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    answer = app.chat_message[1].markdown[0].value
    assert "DenseNet" in answer and "[p." in answer
    pages = source_pages(app)
    assert pages and 5 in pages  # DenseNet is section 2.3, printed on physical page 5
    assert any("no language model" in badge.value for badge in app.chat_message[1].markdown)
    assert app.get("download_button")[0].proto.disabled is False


def test_history_survives_switching_pages_and_sessions_do_not_share_it(app: AppTest) -> None:
    ask(app, "什么是DenseNet？")
    app.switch_page(BROWSER).run()
    app.switch_page(CHAT).run()
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    other = AppTest.from_file(HOME, default_timeout=TIMEOUT).run().switch_page(CHAT).run()
    assert not other.chat_message


def test_a_follow_up_and_clearing_the_conversation(app: AppTest) -> None:
    ask(app, "什么是ResNet？")
    ask(app, "它和DenseNet有什么不同？")
    assert len(app.chat_message) == 4
    clear = next(b for b in app.button if b.label == "Clear")
    clear.click().run()
    assert not app.chat_message


def test_the_scope_limits_retrieval(app: AppTest) -> None:
    app.switch_page(CHAT).run()
    scope = app.selectbox[0]
    scope.select_index(next(i for i, label in enumerate(scope.options) if label.strip().startswith("1.1"))).run()
    assert app.selectbox[0].options[app.selectbox[0].index].strip() == "1.1 线性回归"
    ask(app, "DenseNet")
    assert set(source_pages(app)) <= {3, 4}  # section 1.1 is printed on physical pages 3-4


def test_a_backend_that_cannot_be_reached_is_explained_and_the_chat_kept(
    app_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(monkeypatch, backend="openai", openai_base_url="http://127.0.0.1:9/v1", openai_timeout="2")
    try:
        at = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
        ask(at, "什么是DenseNet？")
        assert not at.exception
        assert "Cannot connect to the answer server" in " ".join(texts(at.error))
        assert [e.label for e in at.expander if e.label.startswith("Passages found")]  # the search still helps
        assert at.get("page_link")  # each passage opens its page
        ask(at, "什么是ResNet？")
        assert len(at.chat_message) == 4  # both questions stay in the conversation
    finally:
        st.cache_resource.clear()


def test_a_model_that_cannot_be_loaded_is_explained_and_answers_go_on_without_it(
    app_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(monkeypatch, backend="transformers", llm_model="/nowhere/glm-4-9b-chat-hf")
    try:
        at = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
        ask(at, "什么是DenseNet？")
        assert not at.exception
        assert "No model folder at /nowhere" in " ".join(texts(at.error)).replace("\\", "")
        assert "[p." in at.chat_message[1].markdown[0].value  # answered by quoting the book
    finally:
        st.cache_resource.clear()


def test_the_inspector_shows_table_chart_text_and_page(app: AppTest) -> None:
    ask(app, "DenseNet 的过渡层")
    app.switch_page(INSPECTOR).run()
    assert not app.exception
    assert app.text_input[0].value == "DenseNet 的过渡层"
    table = app.dataframe[0].value
    assert {"rank", "fused", "dense", "dense_rank", "keyword", "keyword_rank", "page", "section"} <= set(table.columns)
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert len(app.get("plotly_chart")) == 2  # the scores by rank, the book's low-confidence calibration
    assert any("The chat would" in e.proto.label for e in app.expander)
    assert any(":orange[" in m.value for m in app.markdown)
    assert len(app.get("image")) == 1


def test_the_inspector_compares_two_modes(app: AppTest) -> None:
    app.switch_page(INSPECTOR).run()
    app.text_input[0].input("卷积核").run()
    compare = next(s for s in app.selectbox if s.label == "Compare with")
    compare.select("keyword").run()
    assert not app.exception
    assert len(app.dataframe) == 2
    assert texts(app.subheader)[:2] == ["hybrid", "keyword"]
    assert len(app.get("plotly_chart")) == 3  # where each passage ranks in both modes, the scores by rank, the calibration


def page_picker(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Page")


def test_the_browser_honours_a_deep_link_and_pages(app: AppTest) -> None:
    app.query_params["page"] = "5"
    app.switch_page(BROWSER).run()
    assert not app.exception
    assert page_picker(app).value == 5 and page_picker(app).format_func(5) == "3"  # shown by its printed number
    assert len(app.get("image")) == 1
    page_text = next(e for e in app.expander if e.label == "Text of this page")
    assert "卷积层" in page_text.get("text")[0].value  # page 5 starts chapter 2 with section 2.1
    next(b for b in app.button if b.label == "Next").click().run()
    assert page_picker(app).value == 6


def test_a_deep_link_opens_its_page_in_a_new_session(app_environment: Path) -> None:
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.query_params["page"] = "5"
    at.switch_page(BROWSER).run()
    assert not at.exception
    assert page_picker(at).value == 5


def test_a_followed_source_is_asked_about_in_its_own_section(app: AppTest, sample_book_id: str) -> None:
    app.query_params.update(page="5", passage=f"{sample_book_id}:00007")  # 2.3 DenseNet, on the page where 2.1 begins
    app.switch_page(BROWSER).run()
    assert not app.exception
    assert [b.label for b in app.button if b.label.startswith("Ask about")] == ["Ask about 2.3 稠密连接网络（DenseNet）"]
    app.query_params.pop("passage")
    app.switch_page(BROWSER).run()
    assert [b.label for b in app.button if b.label.startswith("Ask about")] == ["Ask about 2.1 卷积层"]


def test_ask_about_this_section_opens_the_chat_scoped_to_it(app: AppTest) -> None:
    app.query_params["page"] = "7"
    app.switch_page(BROWSER).run()
    next(b for b in app.button if b.label.startswith("Ask about")).click().run()
    assert not app.exception
    assert texts(app.title) == ["Chat"]
    scope = app.selectbox[0]
    assert scope.options[scope.index].strip() == "3.1 注意力评分函数"  # the section at the top of page 7


def test_a_cited_page_is_marked_in_the_browser(app: AppTest) -> None:
    ask(app, "什么是DenseNet？")
    page = source_pages(app)[0]
    app.query_params["page"] = str(page)
    app.switch_page(BROWSER).run()
    assert page_picker(app).value == page
    assert any("Cited in your chat" in m.value for m in app.markdown)


def test_an_upload_that_is_not_a_pdf_is_refused_in_words(app: AppTest, app_environment: Path) -> None:
    before = Library(Settings(data_dir=app_environment)).manifests()
    app.sidebar.file_uploader[0].upload("notes.pdf", b"just some text", "application/pdf").run()
    assert not app.exception
    assert [e.value for e in app.sidebar.error if "not a PDF" in e.value][0].startswith("**notes.pdf is not a PDF")
    assert app.sidebar.file_uploader[0].value is None  # emptied, ready for the next file
    assert Library(Settings(data_dir=app_environment)).manifests() == before
    assert not list((app_environment / "uploads").glob("*.pdf"))


def test_after_a_refused_upload_the_next_one_is_indexed(empty_app: AppTest) -> None:
    empty_app.sidebar.file_uploader[0].upload("notes.pdf", b"just some text", "application/pdf").run()
    empty_app.sidebar.file_uploader[0].upload("我的书.pdf", build_sample_pdf(), "application/pdf").run()
    assert not empty_app.exception
    assert empty_app.header[0].value == "深度学习小册：BookQA 示例书"
    assert not empty_app.sidebar.error  # the earlier refusal is not shown again


@pytest.fixture
def empty_app(app_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    use_environment(monkeypatch, data_dir=str(tmp_path / "data"))
    yield AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    st.cache_resource.clear()
    st.cache_data.clear()


def test_an_empty_library_offers_the_sample_book_and_a_book_can_be_removed(empty_app: AppTest) -> None:
    assert not empty_app.exception
    assert "library is empty" in empty_app.markdown[0].value
    for page in (CHAT, INSPECTOR, BROWSER):
        empty_app.switch_page(page).run()
        assert not empty_app.exception and empty_app.info, page
    empty_app.switch_page("app_pages/overview.py").run()
    next(b for b in empty_app.button if b.label == "Add the sample book").click().run()
    empty_app.run()
    assert not empty_app.exception
    assert empty_app.header[0].value == "深度学习小册：BookQA 示例书"
    next(b for b in empty_app.button if b.label == "Remove for good").click().run()
    empty_app.run()
    assert "library is empty" in empty_app.markdown[0].value


def test_an_uploaded_pdf_is_indexed_and_selected(empty_app: AppTest) -> None:
    empty_app.sidebar.file_uploader[0].upload("我的书.pdf", build_sample_pdf(), "application/pdf").run()
    assert not empty_app.exception
    assert empty_app.header[0].value == "深度学习小册：BookQA 示例书"
    assert empty_app.caption[0].value.startswith("我的书.pdf · book id `book-")  # the name is shown, not used
    assert any("Added" in s.value for s in empty_app.success)


@pytest.mark.slow
def test_the_real_model_answers_and_flags_a_question_the_book_does_not_cover(real_app: AppTest) -> None:
    ask(real_app, "什么是DenseNet？")
    assert not real_app.exception
    assert "DenseNet" in real_app.chat_message[1].markdown[0].value and 5 in source_pages(real_app)
    ask(real_app, "量子色动力学中的夸克禁闭是什么？")
    assert not real_app.exception
    assert any("does not seem to cover" in w.value for w in real_app.warning)



def test_a_book_built_with_other_settings_is_explained_and_rebuilt_from_the_overview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    add_sample(Library(Settings(data_dir=data, embedding_model=FAKE["embedding_model"])), embedder=FakeEmbedder())
    use_environment(monkeypatch, data_dir=str(data), backend="extractive", chunk_size="400", **FAKE)
    try:
        at = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
        assert not at.exception
        assert "chunk size 500/overlap 80" in " ".join(texts(at.error))
        next(b for b in at.button if b.label == "Rebuild").click().run()
        at.run()
        assert not at.exception and not at.error
        assert at.header[0].value == "深度学习小册：BookQA 示例书"  # the book's facts are back
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


@pytest.fixture
def scanned_upload(empty_app: AppTest, english_book_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """An English scan to upload, read by a fake recogniser in the app's process (one worker); the page cache
    remembers a slow machine, so reading it would take minutes."""
    from fakes import recogniser_for
    from pdf_factory import SCAN_DPI, build_scan

    import bookqa.reading.ocr as ocr
    from bookqa.reading.page_cache import PageCache

    scan = build_scan(english_book_pdf, tmp_path / "scan.pdf")
    reader = recogniser_for(english_book_pdf, scan, SCAN_DPI)
    for lines in reader.pages.values():  # one poorly recognised line on page 1
        corners, text, _ = lines[-1]
        lines[-1] = (corners, text, 0.2)
    monkeypatch.setattr(ocr, "load_recogniser", lambda settings, workers: reader)
    use_environment(monkeypatch, ocr_workers="1", ocr_dpi=str(SCAN_DPI))
    PageCache(tmp_path / "data" / "ocr-cache").record_seconds_per_page(100.0)
    return scan.read_bytes()


def test_a_long_scan_is_read_only_when_asked_and_its_pages_show_what_ocr_read(empty_app: AppTest, scanned_upload: bytes) -> None:
    empty_app.sidebar.file_uploader[0].upload("scan.pdf", scanned_upload, "application/pdf").run()
    assert not empty_app.exception
    warning = next(w.value for w in empty_app.sidebar.warning if "looks scanned" in w.value)
    assert "4 pages to read by OCR: about 7 min with 1 worker" in warning
    assert Library(Settings(data_dir=_data_dir())).manifests() == []  # nothing started yet
    next(b for b in empty_app.sidebar.button if b.label == "Read it now").click().run()
    empty_app.run()
    assert not empty_app.exception
    assert empty_app.header[0].value == "scan"
    empty_app.query_params["page"] = "1"
    empty_app.switch_page(BROWSER).run()
    assert not empty_app.exception
    assert empty_app.get("image")[0].proto.imgs[0].caption == "Page 1 (1 of 4) · read by OCR"
    poor = next(e for e in empty_app.expander if "below the confidence floor" in e.label)
    assert "1 line recognised below the confidence floor (0.5)" in poor.label


def test_a_long_scan_can_be_cancelled(empty_app: AppTest, scanned_upload: bytes) -> None:
    empty_app.sidebar.file_uploader[0].upload("scan.pdf", scanned_upload, "application/pdf").run()
    next(b for b in empty_app.sidebar.button if b.label == "Cancel").click().run()
    assert not empty_app.exception
    assert empty_app.sidebar.file_uploader[0].value is None
    assert not any("looks scanned" in w.value for w in empty_app.sidebar.warning)
    assert Library(Settings(data_dir=_data_dir())).manifests() == []


def _data_dir() -> Path:
    return Path(os.environ["BOOKQA_DATA_DIR"])
