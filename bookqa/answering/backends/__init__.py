"""Answer backends: a language model in this process (transformers), an OpenAI-compatible server, or no
model at all (extractive). ``load_backend(settings)`` picks and loads one; callers use ``Backend.answer``.
"""

from __future__ import annotations

import logging

from bookqa.answering.backends.base import Backend, ChatBackend, Generation, Reply
from bookqa.answering.backends.extractive import ExtractiveBackend
from bookqa.config import BackendName, Settings
from bookqa.errors import ModelError

log = logging.getLogger(__name__)

__all__ = ["Backend", "ChatBackend", "ExtractiveBackend", "Generation", "Reply", "load_backend"]


def load_backend(settings: Settings) -> Backend:
    """The backend ``settings.backend`` names, loaded (a model loads once here; keep the result).

    ``auto``: transformers with ``settings.llm_model`` when a CUDA GPU is present (falling back to extractive,
    with a warning, when that model cannot be loaded), else extractive. An explicit choice is used as it is and
    its failures raise (ModelError, SettingsError). The transformers and openai backends import their packages
    only when chosen.
    """
    if settings.backend == BackendName.EXTRACTIVE:
        return ExtractiveBackend()
    if settings.backend == BackendName.OPENAI:
        from bookqa.answering.backends.openai_backend import OpenAIBackend

        return OpenAIBackend.from_settings(settings)
    if settings.backend == BackendName.TRANSFORMERS:
        from bookqa.answering.backends.transformers_backend import TransformersBackend

        return TransformersBackend.load(settings)
    import torch

    if not torch.cuda.is_available():
        log.info("No CUDA GPU: answering with the extractive backend (set BOOKQA_BACKEND to choose another).")
        return ExtractiveBackend()
    from bookqa.answering.backends.transformers_backend import TransformersBackend

    try:
        return TransformersBackend.load(settings)
    except ModelError as error:
        log.warning("Cannot load %s (%s); answering with the extractive backend.", settings.llm_model, error)
        return ExtractiveBackend()
