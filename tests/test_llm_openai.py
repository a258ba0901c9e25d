"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 that streams server-sent events."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from bookqa.answering.backends import load_backend
from bookqa.answering.backends.openai_backend import OpenAIBackend
from bookqa.config import Settings
from bookqa.errors import BackendError, SettingsError
from bookqa.types import Message

PIECES = ["DenseNet ", "连结", "特征 [p.251]"]
QUESTION = [Message("system", "你是学习助手。"), Message("user", "什么是 DenseNet？")]


class _Handler(BaseHTTPRequestHandler):
    """POST /v1/chat/completions; the requested model name picks the behaviour."""

    requests: list[dict[str, Any]] = []

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
            self._answer()

    def _answer(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["authorization"] = self.headers.get("Authorization")
        self.requests.append(body)
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        model = body["model"]
        if model == "broken":
            return self._json(500, {"error": {"message": "CUDA out of memory", "type": "InternalServerError"}})
        if model == "slow":
            time.sleep(1.5)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in PIECES:
            self._event({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            if model == "fails-midway":
                self._event({"error": {"message": "the engine died", "type": "InternalServerError", "code": 500}})
                return
        self._event({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if model != "no-usage":  # some servers send no usage chunk
            self._event({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [],
                         "usage": {"prompt_tokens": 42, "completion_tokens": 3, "total_tokens": 45}})
        self.wfile.write(b"data: [DONE]\n\n")

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def backend_for(url: str, model: str = "glm-4-9b-chat", **changes: object) -> OpenAIBackend:
    options: dict[str, Any] = {"openai_timeout": 5.0, **changes}
    settings = Settings(backend="openai", openai_base_url=url, openai_model=model, **options)
    backend = load_backend(settings)
    assert isinstance(backend, OpenAIBackend)
    return backend


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_streams_pieces_and_sends_the_generation_settings(server: str) -> None:
    _Handler.requests.clear()
    backend = backend_for(server, openai_api_key="sk-test", max_new_tokens=99, temperature=0.2, top_p=0.7)
    reply = backend.stream(QUESTION)
    assert list(reply) == PIECES
    assert reply.usage == {"prompt_tokens": 42, "completion_tokens": 3}
    sent = _Handler.requests[-1]
    assert sent["messages"] == [{"role": "system", "content": "你是学习助手。"}, {"role": "user", "content": "什么是 DenseNet？"}]
    assert (sent["model"], sent["stream"], sent["max_tokens"], sent["temperature"], sent["top_p"]) == ("glm-4-9b-chat", True, 99, 0.2, 0.7)
    assert sent["repetition_penalty"] == 1.05
    assert sent["authorization"] == "Bearer sk-test"
    assert (backend.name, backend.model) == ("openai", "glm-4-9b-chat")


def test_a_server_without_usage_gets_estimated_token_counts(server: str) -> None:
    reply = backend_for(server, model="no-usage").stream(QUESTION)
    assert list(reply) == PIECES
    # estimate_tokens: one per CJK character or full-width sign, one per three other non-space characters
    assert reply.usage == {"prompt_tokens": 7 + 7, "completion_tokens": 9, "estimated": True}


def test_overrides_apply_to_one_reply(server: str) -> None:
    backend = backend_for(server)
    backend.stream(QUESTION, max_new_tokens=7, temperature=0).text()
    assert (_Handler.requests[-1]["max_tokens"], _Handler.requests[-1]["temperature"]) == (7, 0)


def test_answer_sends_a_grounded_prompt(server: str) -> None:
    from answer_helpers import PAGES, densenet_hits, query

    backend = backend_for(server)
    assert backend.answer(query("什么是 DenseNet 模型"), densenet_hits(), pages=PAGES).text() == "".join(PIECES)
    user = _Handler.requests[-1]["messages"][-1]["content"]
    assert "【资料1】页码：p.251, p.252" in user and user.endswith("问题：什么是 DenseNet 模型")


def test_a_refused_connection_names_the_url_and_what_to_check() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    started = time.perf_counter()
    with pytest.raises(BackendError, match="Cannot connect") as raised:
        backend_for(url).stream(QUESTION).text()
    assert url in str(raised.value) and "BOOKQA_OPENAI_BASE_URL" in raised.value.hint
    assert time.perf_counter() - started < 3  # no retries


def test_a_server_error_names_the_status_and_the_message(server: str) -> None:
    with pytest.raises(BackendError, match="HTTP 500: CUDA out of memory") as raised:
        backend_for(server, "broken").stream(QUESTION).text()
    assert server in str(raised.value) and "log" in raised.value.hint


def test_an_error_inside_the_stream_is_a_backend_error(server: str) -> None:
    reply = backend_for(server, "fails-midway").stream(QUESTION)
    assert next(reply) == PIECES[0]
    with pytest.raises(BackendError, match="the engine died"):
        next(reply)


def test_a_timeout_names_the_limit_and_the_setting(server: str) -> None:
    with pytest.raises(BackendError, match=r"within 0.3 s") as raised:
        backend_for(server, "slow", openai_timeout=0.3).stream(QUESTION).text()
    assert "BOOKQA_OPENAI_TIMEOUT" in raised.value.hint


def test_a_wrong_path_says_to_check_the_base_url(server: str) -> None:
    with pytest.raises(BackendError, match="does not serve") as raised:
        backend_for(server.removesuffix("/v1") + "/api").stream(QUESTION).text()
    assert "/v1" in raised.value.hint


def test_settings_are_checked_when_the_backend_is_made() -> None:
    with pytest.raises(SettingsError, match="BOOKQA_OPENAI_BASE_URL"):
        load_backend(Settings(backend="openai", openai_base_url="127.0.0.1:8000"))
    with pytest.raises(SettingsError, match="BOOKQA_OPENAI_MODEL"):
        load_backend(Settings(backend="openai", openai_model=""))
