"""The transformers backend: a chat model run in this process (the GPU path for GLM-4).

Today's GLM checkpoints load through transformers' own classes, without remote code: THUDM/glm-4-9b-chat-hf
(model type ``glm``) and THUDM/GLM-4-9B-0414 (``glm4``); so does any other chat model with a chat template.
Remote code runs only when ``settings.trust_remote_code`` is on (legacy THUDM/chatglm3-6b).

One backend holds one model, loaded once. Generation runs in a worker thread feeding a
``TextIteratorStreamer``; a lock lets one reply generate at a time (other callers wait their turn). The lock
covers generation, not reading, so a reader that stalls or is abandoned holds the model no longer than its
generation takes; a reply closed early sets a flag that a stopping criterion checks at every token, so the
model is freed at once.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from bookqa.answering.backends.base import ChatBackend, Generation, Reply
from bookqa.config import BackendName, Quantization, Settings
from bookqa.errors import BackendError, ModelError
from bookqa.models import hub_model_is_cached, is_model_id, pick_device
from bookqa.types import Message

log = logging.getLogger(__name__)

MODEL_HINT = "Set BOOKQA_LLM_MODEL to a folder holding config.json and the weights, or to a Hugging Face model id such as THUDM/glm-4-9b-chat-hf."
_REMOTE_CODE_HINTS = ("trust_remote_code", "does not recognize this architecture", "Unrecognized configuration class")


class _Cancel(StoppingCriteria):
    """Stops generation once ``event`` is set; records how many tokens were generated."""

    def __init__(self, prompt_tokens: int) -> None:
        self.event = threading.Event()
        self.prompt_tokens = prompt_tokens
        self.generated = 0

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        self.generated = input_ids.shape[-1] - self.prompt_tokens
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class TransformersBackend(ChatBackend):
    """A chat model in this process.

    ``lm``: the loaded causal language model. ``tokenizer``: its tokenizer, with a chat template.
    ``model``: the model name shown to users. ``generation``: default generation settings.
    ``prompt_tokens``: the prompt budget (``settings.context_tokens``). Use :meth:`load` to build one from settings.
    """

    name = BackendName.TRANSFORMERS

    def __init__(self, lm: Any, tokenizer: Any, *, model: str, generation: Generation, prompt_tokens: int) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise ModelError(
                f"The model {model} has no chat template: it is a base model, not a chat model.",
                "Set BOOKQA_LLM_MODEL to a chat checkpoint, such as THUDM/glm-4-9b-chat-hf.",
            )
        if prompt_tokens < 1:
            raise ValueError(f"prompt_tokens must be at least 1, got {prompt_tokens}.")
        self.lm = lm
        self.tokenizer = tokenizer
        self.model = model
        self.generation = generation
        self.prompt_tokens = prompt_tokens
        self.context_tokens = _window(lm.config, fallback=prompt_tokens + generation.max_new_tokens)
        self.stop_ids = _stop_ids(lm, tokenizer)
        self._lock = threading.Lock()
        self._system_role = True
        try:
            self.encode([Message("system", "s"), Message("user", "u")])
        except Exception:  # some templates refuse a system turn: fold it into the first user turn
            self._system_role = False
            try:
                self.encode([Message("system", "s"), Message("user", "u")])
            except Exception as error:
                raise ModelError(f"The chat template of {model} cannot format a conversation: {error}") from error

    @classmethod
    def load(cls, settings: Settings) -> "TransformersBackend":
        """Load ``settings.llm_model`` (a model id or a local folder) on ``settings.llm_device``, with
        ``settings.llm_quantization`` and ``settings.trust_remote_code``; generation settings from ``settings``.

        Raises ModelError, naming the fix, for an unknown model, a missing package or GPU, or too little memory.
        """
        name = settings.llm_model
        source, local_only = resolve_model(name)
        device = torch.device(pick_device(settings.llm_device, "BOOKQA_LLM_DEVICE"))
        quantization = _quantization(settings.llm_quantization, device)
        if device.type == "cpu":
            log.warning(
                "Loading %s on the CPU. A 9B model such as GLM-4-9B needs about 40 GB of memory there and writes a "
                "few tokens a minute, which is impractical: use a CUDA GPU, an OpenAI-compatible server "
                "(BOOKQA_BACKEND=openai) or the extractive backend (BOOKQA_BACKEND=extractive).",
                name,
            )
        options: dict[str, Any] = {"trust_remote_code": settings.trust_remote_code, "local_files_only": local_only}
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **options)
            lm = AutoModelForCausalLM.from_pretrained(
                source, dtype=_dtype(device), device_map=str(device), quantization_config=quantization, **options
            )
        except torch.cuda.OutOfMemoryError as error:
            raise ModelError(
                f"The GPU ran out of memory loading {name}.",
                "Set BOOKQA_LLM_QUANTIZATION=4bit (or 8bit), or use a smaller model.",
            ) from error
        except (OSError, ValueError, KeyError, ImportError, RuntimeError) as error:
            text = str(error)
            if not settings.trust_remote_code and any(hint in text for hint in _REMOTE_CODE_HINTS):
                hint = "It needs its own code: set BOOKQA_TRUST_REMOTE_CODE=true if you trust its authors."
            else:
                hint = "Check BOOKQA_LLM_MODEL (a chat model id or a folder with config.json and weights)."
            raise ModelError(f"Cannot load the model {name}: {text.splitlines()[0] if text else type(error).__name__}", hint) from error
        lm.eval()
        log.info("Loaded %s on %s (%s, quantization %s).", name, device, lm.dtype, settings.llm_quantization)
        return cls(lm, tokenizer, model=name, generation=Generation.from_settings(settings), prompt_tokens=settings.context_tokens)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def encode(self, messages: Sequence[Message]) -> list[int]:
        """The prompt token ids of ``messages`` through the chat template, ending with the assistant's turn.

        Control tokens inside message texts (a book quoting ``<|user|>``) are encoded as plain text.
        """
        turns = [{"role": m.role, "content": m.content} for m in messages]
        if not self._system_role and turns and turns[0]["role"] == "system":
            system = turns.pop(0)["content"]
            if turns:
                turns[0] = {"role": turns[0]["role"], "content": f"{system}\n\n{turns[0]['content']}"}
        return list(
            self.tokenizer.apply_chat_template(
                turns, add_generation_prompt=True, tokenize=True, return_dict=False, sanitize_control_tokens=True
            )
        )

    def fit(self, messages: Sequence[Message], limit: int) -> list[int]:
        """The prompt ids of ``messages`` in at most ``limit`` tokens: the oldest turns after the system message
        are dropped first; if the system message and the last turn alone are too long, their middle is cut."""
        kept = list(messages)
        ids = self.encode(kept)
        while len(ids) > limit:
            droppable = [i for i, m in enumerate(kept[:-1]) if m.role != "system"]
            if not droppable:
                break
            del kept[droppable[0]]
            ids = self.encode(kept)
        if len(kept) < len(messages):
            log.warning("The prompt was over %d tokens: dropped the %d oldest turn(s).", limit, len(messages) - len(kept))
        if len(ids) > limit:
            log.warning("The prompt is %d tokens, over %d: cutting its middle.", len(ids), limit)
            tail = limit // 2
            ids = ids[: limit - tail] + ids[len(ids) - tail :]
        return ids

    def stream(self, messages: Sequence[Message], **overrides: float) -> Reply:
        generation = self.generation.override(**overrides)
        usage: dict[str, int] = {}
        return Reply(self._generate(list(messages), generation, usage), usage)

    def _generate(self, messages: list[Message], generation: Generation, usage: dict[str, int]) -> Iterator[str]:
        max_new_tokens = self.reply_tokens(generation)
        ids = self.fit(messages, self.context_tokens - max_new_tokens)
        usage.update(prompt_tokens=len(ids), completion_tokens=0)
        cancel = _Cancel(len(ids))
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        failures: list[BaseException] = []
        self._lock.acquire()  # released by the worker when generation ends
        worker = threading.Thread(
            target=self._run,
            args=(ids, generation, max_new_tokens, streamer, cancel, failures),
            name="bookqa-generate",
            daemon=True,
        )
        try:
            worker.start()
        except BaseException:
            self._lock.release()
            raise
        try:
            started = False
            for piece in streamer:
                if not started:
                    piece = piece.lstrip()
                if piece:
                    started = True
                    yield piece
        finally:
            cancel.event.set()
            worker.join()
            usage["completion_tokens"] = cancel.generated
        if failures:
            error = failures[0]
            hint = "Lower BOOKQA_CONTEXT_TOKENS or BOOKQA_MAX_NEW_TOKENS, or set BOOKQA_LLM_QUANTIZATION=4bit."
            raise BackendError(f"Generation with {self.model} failed: {type(error).__name__}: {error}", hint) from error

    def _run(
        self,
        ids: list[int],
        generation: Generation,
        max_new_tokens: int,
        streamer: TextIteratorStreamer,
        cancel: _Cancel,
        failures: list[BaseException],
    ) -> None:
        """Generate in the worker thread, then free the model; a failure is recorded and the stream ended so
        the reader never hangs."""
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": generation.temperature, "top_p": generation.top_p}
            if generation.temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        try:
            inputs = torch.tensor([ids], device=self.lm.device)
            self.lm.generate(
                input_ids=inputs,
                attention_mask=torch.ones_like(inputs),
                streamer=streamer,
                max_new_tokens=max_new_tokens,
                repetition_penalty=generation.repetition_penalty,
                stopping_criteria=StoppingCriteriaList([cancel]),
                eos_token_id=self.stop_ids,
                pad_token_id=self.stop_ids[0] if self.tokenizer.pad_token_id is None else self.tokenizer.pad_token_id,
                **sampling,
            )
        except BaseException as error:  # noqa: BLE001 - handed to the reading thread, which raises it
            failures.append(error)
            streamer.end()
        finally:
            self._lock.release()


def resolve_model(name: str) -> tuple[str, bool]:
    """Where to load model ``name`` from: ``(source, local_files_only)``.

    A local folder is used as it is when it holds a config.json; a Hugging Face id is checked against the local
    cache and the Hub (:func:`bookqa.models.hub_model_is_cached`), so a wrong name or an unreachable Hub fails at
    once with ModelError instead of after minutes of retries.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"The folder {name} holds no model (there is no config.json in it).", MODEL_HINT)
        return str(path), True
    if path.exists() or not is_model_id(name) or "\\" in name:
        raise ModelError(f"No model folder at {name}.", MODEL_HINT)
    if hub_model_is_cached(name, "BOOKQA_LLM_MODEL", MODEL_HINT):
        return name, True
    log.info("Downloading %s from the Hugging Face Hub (once; it is cached afterwards).", name)
    return name, False


def _dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on a GPU that has it (float16 on older ones and on MPS), float32 on the CPU."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16 if device.type == "mps" else torch.float32


def _quantization(kind: Quantization, device: torch.device) -> Any:
    """A bitsandbytes config for ``kind`` (``4bit``/``8bit``), None for ``none``; ModelError where it cannot run."""
    if kind == Quantization.NONE:
        return None
    if device.type != "cuda":
        raise ModelError(
            f"BOOKQA_LLM_QUANTIZATION={kind} needs a CUDA GPU, but the model would run on {device}.",
            "Set BOOKQA_LLM_QUANTIZATION=none, or run on a machine with an NVIDIA GPU.",
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelError(
            f"BOOKQA_LLM_QUANTIZATION={kind} needs the bitsandbytes package, which is not installed.",
            "Run `pip install bitsandbytes`, or set BOOKQA_LLM_QUANTIZATION=none.",
        )
    from transformers import BitsAndBytesConfig

    if kind == Quantization.EIGHT_BIT:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=_dtype(device))


def _window(config: Any, fallback: int) -> int:
    """The model's context window (prompt and reply) from its config; ``fallback`` when it names none."""
    for attribute in ("max_position_embeddings", "seq_length", "n_positions"):
        value = getattr(config, attribute, None)
        if isinstance(value, int) and value > 0:
            return value
    return fallback


def _stop_ids(lm: Any, tokenizer: Any) -> list[int]:
    """Token ids that end a reply: the generation config's (GLM-4: <|endoftext|>, <|user|>, <|observation|>)
    and the tokenizer's end-of-sequence token."""
    configured = getattr(lm.generation_config, "eos_token_id", None)
    ids = list(configured) if isinstance(configured, (list, tuple)) else [configured]
    ids.append(tokenizer.eos_token_id)
    stops = [i for i in dict.fromkeys(ids) if isinstance(i, int)]
    if not stops:
        raise ModelError("The model's tokenizer and generation config name no end-of-sequence token.", "Use a chat checkpoint.")
    return stops
