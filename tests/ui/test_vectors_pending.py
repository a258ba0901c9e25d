"""The app with a book whose vectors are not done yet: keyword search with a note, one background build however many
sessions look, and hybrid search once the vectors land (AppTest, a fake embedder that waits for the test)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from conftest import FAKE, HOME, TIMEOUT, ask, use_environment
from fakes import FACTORY, GATE
from streamlit.testing.v1 import AppTest

from bookqa.config import Settings
from bookqa.library.sample import add_sample
from bookqa.library.store import Library
from bookqa.ui import resources

CHAT, INSPECTOR = "app_pages/chat.py", "app_pages/retrieval_inspector.py"


@pytest.fixture
def pending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A library holding the sample book after its first build step only; the app embeds with the slow fake."""
    data = tmp_path / "data"
    settings = Settings(data_dir=data, embedding_model=FAKE["embedding_model"], embedding_factory=FACTORY)
    manifest = add_sample(Library(settings), vectors=False)
    use_environment(monkeypatch, data_dir=str(data), backend="extractive", **dict(FAKE, embedding_factory="fakes:gated_fake_embedder"))
    GATE.clear()
    yield manifest
    GATE.set()
    resources.builds().wait(manifest.book_id, 60)
    st.cache_resource.clear()
    st.cache_data.clear()


def test_a_book_is_used_by_keywords_while_one_background_build_computes_its_vectors(pending) -> None:
    first = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    second = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    assert not first.exception and not second.exception
    builds = resources.builds()
    assert builds.started == 1 and builds.running(pending.book_id)  # two sessions, one build
    assert any("Keyword search only: vectors" in bar.proto.text for bar in first.sidebar.get("progress"))
    assert first.header[0].value == "深度学习小册：BookQA 示例书"  # the overview works meanwhile

    ask(second, "什么是DenseNet？")
    assert not second.exception
    assert any("searched by keywords only" in info.value for info in second.info)
    assert "DenseNet" in second.chat_message[1].markdown[0].value
    second.switch_page(INSPECTOR).run()
    assert not second.exception and second.dataframe[0].value["dense"].isna().all()

    GATE.set()
    assert builds.wait(pending.book_id, 60) and builds.started == 1
    second.run()
    assert not second.exception and not any("searched by keywords only" in info.value for info in second.info)
    assert second.dataframe[0].value["dense"].notna().all()  # hybrid, without a restart
    assert any("Index ready" in caption.value for caption in second.sidebar.caption)
