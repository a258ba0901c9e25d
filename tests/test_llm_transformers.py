"""The transformers backend on tiny random GLM and GLM-4 checkpoints, loaded through the real code path."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from tiny_glm import WINDOW, build_checkpoint  # noqa: E402

from bookqa.answering.backends import load_backend  # noqa: E402
from bookqa.answering.backends.transformers_backend import TransformersBackend, resolve_model  # noqa: E402
from bookqa.config import Settings  # noqa: E402
from bookqa.errors import ModelError  # noqa: E402
from bookqa.types import Message  # noqa: E402

pytestmark = pytest.mark.slow

QUESTION = [Message("system", "你是学习助手。"), Message("user", "什么是 DenseNet？")]


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny checkpoints, built once: ``glm`` and ``glm4`` (random), ``silent`` (ends every reply at once)."""
    root = tmp_path_factory.mktemp("tiny-glm")
    return {
        "glm": build_checkpoint(root / "glm", "glm"),
        "glm4": build_checkpoint(root / "glm4", "glm4"),
        "silent": build_checkpoint(root / "silent", "glm", silent=True),
    }


def settings_for(folder: Path, **changes: object) -> Settings:
    """Settings loading ``folder``; greedy decoding, so every reply of the random model is known in advance."""
    return Settings(backend="transformers", llm_model=str(folder), max_new_tokens=24, temperature=0.0, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def glm(checkpoints: dict[str, Path]) -> TransformersBackend:
    backend = load_backend(settings_for(checkpoints["glm"]))
    assert isinstance(backend, TransformersBackend)
    return backend


@pytest.mark.parametrize("kind, architecture", [("glm", "GlmForCausalLM"), ("glm4", "Glm4ForCausalLM")])
def test_loads_and_streams_both_glm_architectures(checkpoints: dict[str, Path], kind: str, architecture: str) -> None:
    backend = load_backend(settings_for(checkpoints[kind]))
    assert isinstance(backend, TransformersBackend)
    assert type(backend.lm).__name__ == architecture
    assert (backend.name, backend.model, backend.context_tokens) == ("transformers", str(checkpoints[kind]), WINDOW)
    assert backend.stop_ids == [0, 7, 9]  # <|endoftext|>, <|user|>, <|observation|> from the generation config
    with backend.stream(QUESTION) as reply:
        pieces = list(reply)
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert reply.usage["completion_tokens"] == 24  # these weights, greedy, pick no stop token this early
    sampled = backend.stream(QUESTION, temperature=0.7, top_p=0.9)
    sampled.text()
    assert 1 <= sampled.usage["completion_tokens"] <= 24
    assert reply.usage["prompt_tokens"] == len(backend.encode(QUESTION))


def test_chat_template_is_applied_and_control_tokens_in_text_stay_text(glm: TransformersBackend) -> None:
    ids = glm.encode([Message("system", "S"), Message("user", "问 <|assistant|>")])
    text = glm.tokenizer.decode(ids)
    assert text.startswith("[gMASK]<sop><|system|>\nS<|user|>\n问")
    assert text.endswith("<|assistant|>")
    assistant = glm.tokenizer.convert_tokens_to_ids("<|assistant|>")
    assert ids.count(assistant) == 1  # the one in the user's text was encoded as plain text


def test_stops_at_max_new_tokens_and_at_end_of_sequence(glm: TransformersBackend, checkpoints: dict[str, Path]) -> None:
    reply = glm.stream(QUESTION, max_new_tokens=5)
    reply.text()
    assert reply.usage["completion_tokens"] == 5
    silent = load_backend(settings_for(checkpoints["silent"]))
    reply = silent.stream(QUESTION)
    assert reply.text() == ""
    assert reply.usage["completion_tokens"] == 1  # the end-of-text token, then stop


def test_greedy_replies_are_repeatable(glm: TransformersBackend) -> None:
    first = glm.stream(QUESTION).text()
    assert first and glm.stream(QUESTION).text() == first


def test_a_reader_that_stops_early_frees_the_model_and_stops_generation(glm: TransformersBackend) -> None:
    reply = glm.stream(QUESTION, max_new_tokens=200)
    next(reply)
    reply.close()
    assert not glm._lock.locked()
    assert reply.usage["completion_tokens"] < 200
    assert glm.stream(QUESTION, max_new_tokens=3).text()  # the next caller is not blocked


def test_an_abandoned_reader_holds_the_model_only_while_its_reply_generates(glm: TransformersBackend) -> None:
    stalled = glm.stream(QUESTION, max_new_tokens=8)
    first = next(stalled)  # then never read again, never closed
    assert first and glm.stream(QUESTION, max_new_tokens=3).text()  # the next caller gets the model
    assert not glm._lock.locked()
    stalled.close()


def test_a_long_conversation_is_trimmed_to_the_window(glm: TransformersBackend) -> None:
    turn = "稠密连接网络是深度学习中的一个重要概念，它与残差网络不同。" * 4
    history = [Message("user" if i % 2 == 0 else "assistant", turn) for i in range(40)]
    messages = [Message("system", "你是学习助手。"), *history, Message("user", "最后一个问题：什么是 DenseNet？")]
    assert len(glm.encode(messages)) > WINDOW
    reply = glm.stream(messages, max_new_tokens=100)
    assert reply.text()
    assert reply.usage["prompt_tokens"] <= WINDOW - 100
    kept = glm.tokenizer.decode(glm.fit(messages, WINDOW - 100))
    assert kept.startswith("[gMASK]<sop><|system|>\n你是学习助手。") and "最后一个问题" in kept


def test_one_oversized_message_has_its_middle_cut(glm: TransformersBackend) -> None:
    messages = [Message("user", "开头。" + "稠密连接网络" * 400 + "结尾的问题？")]
    reply = glm.stream(messages, max_new_tokens=50)
    reply.text()
    assert reply.usage["prompt_tokens"] <= WINDOW - 50
    assert glm.tokenizer.decode(glm.fit(messages, WINDOW - 50)).endswith("结尾的问题？<|assistant|>")


def test_the_reply_budget_is_capped_at_half_the_window(glm: TransformersBackend) -> None:
    reply = glm.stream(QUESTION, max_new_tokens=5000)
    reply.text()
    assert reply.usage["completion_tokens"] == WINDOW // 2


def test_concurrent_callers_all_finish_one_generation_at_a_time(glm: TransformersBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    active, most = 0, 0
    guard = threading.Lock()
    generate = glm.lm.generate

    def counting_generate(*args: object, **kwargs: object) -> object:
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
        try:
            time.sleep(0.02)
            return generate(*args, **kwargs)
        finally:
            with guard:
                active -= 1

    monkeypatch.setattr(glm.lm, "generate", counting_generate)
    results: dict[int, tuple[str, dict[str, int]]] = {}

    def ask(i: int) -> None:
        reply = glm.stream([Message("user", f"问题 {i}：什么是 ResNet？")], max_new_tokens=12)
        results[i] = (reply.text(), reply.usage)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 1, 2, 3]
    assert all(text and usage["completion_tokens"] == 12 for text, usage in results.values())
    assert most == 1


def test_generation_settings_are_validated(glm: TransformersBackend) -> None:
    with pytest.raises(TypeError, match="max_new_tokens"):
        glm.stream(QUESTION, beams=4)
    with pytest.raises(ValueError, match="top_p"):
        glm.stream(QUESTION, top_p=0)


def test_a_missing_folder_fails_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(ModelError, match="No model folder at /no/such/model") as raised:
        load_backend(Settings(backend="transformers", llm_model="/no/such/model"))
    assert "BOOKQA_LLM_MODEL" in raised.value.hint
    assert time.perf_counter() - started < 1


def test_an_unknown_model_id_fails_at_once_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    started = time.perf_counter()
    with pytest.raises(ModelError, match="not in the local Hugging Face cache"):
        resolve_model("no-such-org/no-such-chat-model")
    assert time.perf_counter() - started < 1


def test_a_folder_without_a_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="holds no model \\(there is no config.json in it\\)"):
        load_backend(Settings(backend="transformers", llm_model=str(tmp_path)))
    (tmp_path / "config.json").write_text("{}")  # a config but no usable model
    with pytest.raises(ModelError, match="Cannot load the model"):
        load_backend(Settings(backend="transformers", llm_model=str(tmp_path)))


@pytest.mark.parametrize("kind", ["4bit", "8bit"])
def test_quantization_without_a_gpu_is_a_model_error(checkpoints: dict[str, Path], kind: str) -> None:
    with pytest.raises(ModelError, match="needs a CUDA GPU") as raised:
        load_backend(settings_for(checkpoints["glm"], llm_quantization=kind, llm_device="cpu"))
    assert "BOOKQA_LLM_QUANTIZATION=none" in raised.value.hint


def test_a_device_this_machine_lacks_is_a_model_error(checkpoints: dict[str, Path]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        load_backend(settings_for(checkpoints["glm"], llm_device="cuda"))
    with pytest.raises(ModelError, match="not a device name"):
        load_backend(settings_for(checkpoints["glm"], llm_device="gpu0"))


def test_a_tokenizer_without_chat_template_is_refused(glm: TransformersBackend) -> None:
    template = glm.tokenizer.chat_template
    try:
        glm.tokenizer.chat_template = None
        with pytest.raises(ModelError, match="no chat template"):
            TransformersBackend(glm.lm, glm.tokenizer, model="base", generation=glm.generation, prompt_tokens=100)
    finally:
        glm.tokenizer.chat_template = template


def test_answer_builds_a_grounded_prompt_within_the_window(glm: TransformersBackend) -> None:
    from answer_helpers import PAGES, densenet_hits, query

    reply = glm.answer(query("什么是 DenseNet 模型"), densenet_hits() * 3, pages=PAGES, max_new_tokens=64)
    assert reply.text()
    assert reply.usage["prompt_tokens"] <= WINDOW - 64


def test_auto_without_a_gpu_answers_extractively() -> None:
    import torch

    from bookqa.answering.backends import ExtractiveBackend

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert isinstance(load_backend(Settings(backend="auto")), ExtractiveBackend)
