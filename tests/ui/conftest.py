"""Fixtures for the app's tests: a library holding the sample book (built once per session with the fake embedder,
and once with the real embedded model for the slow tier), the environment the app reads its settings from, and a
fresh AppTest per test."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import streamlit as st
from fakes import FAKE_ENVIRONMENT, FakeEmbedder
from streamlit.testing.v1 import AppTest

from bookqa.config import Settings
from bookqa.library.sample import add_sample
from bookqa.library.store import Library

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "Home.py")
TIMEOUT = 180
"""Seconds one AppTest run may take: the first with the real model loads it."""
FAKE = {name.removeprefix("BOOKQA_").lower(): value for name, value in FAKE_ENVIRONMENT.items()}
"""The settings that make the app embed with the fake, as :func:`use_environment` takes them."""


def make_data_dir(base: Path, models: Path) -> Path:
    """An empty library folder whose models/ is the session's converted embedded model."""
    data = base / "data"
    data.mkdir(parents=True)
    (data / "models").symlink_to(models, target_is_directory=True)
    return data


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library with the sample book in it, built with the fake embedder."""
    data = tmp_path_factory.mktemp("ui-library") / "data"
    add_sample(Library(Settings(data_dir=data, embedding_model=FAKE["embedding_model"])), embedder=FakeEmbedder())
    return data


@pytest.fixture(scope="session")
def real_sample_data_dir(tmp_path_factory: pytest.TempPathFactory, embedded_models_dir: Path) -> Path:
    """A library with the sample book in it, built with the real embedded model."""
    data = make_data_dir(tmp_path_factory.mktemp("ui-real-library"), embedded_models_dir)
    add_sample(Library(Settings(data_dir=data)))
    return data


@pytest.fixture(scope="session")
def sample_book_id(sample_data_dir: Path) -> str:
    return Library(Settings(data_dir=sample_data_dir)).manifests()[0].book_id


def use_environment(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Point the app at ``BOOKQA_<NAME>=value`` settings and drop what it has cached from other settings."""
    for name, value in values.items():
        monkeypatch.setenv(f"BOOKQA_{name.upper()}", value)
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(scope="session")
def app_environment(sample_data_dir: Path) -> Iterator[Path]:
    """The settings every app test runs with (unless a test overrides them): the sample library, the fake embedder,
    extractive answers."""
    with pytest.MonkeyPatch.context() as patch:
        use_environment(patch, data_dir=str(sample_data_dir), backend="extractive", **FAKE)
        yield sample_data_dir
    st.cache_resource.clear()


@pytest.fixture
def app(app_environment: Path) -> AppTest:
    """A new browser session of the app on the overview page (cached models and books are shared)."""
    return AppTest.from_file(HOME, default_timeout=TIMEOUT).run()


@pytest.fixture
def real_app(real_sample_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """A new session of the app on a library built with the real embedded model, which it loads."""
    for name in FAKE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    use_environment(monkeypatch, data_dir=str(real_sample_data_dir), backend="extractive")
    yield AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    st.cache_resource.clear()
    st.cache_data.clear()


def ask(at: AppTest, question: str) -> AppTest:
    """Ask ``question`` on the chat page."""
    if not at.chat_input:
        at.switch_page("app_pages/chat.py").run()
    return at.chat_input[0].set_value(question).run()
