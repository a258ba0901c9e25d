"""Where a model runs and where it comes from: the device a setting names, and a model id checked against the local
Hugging Face cache and, quickly, the Hub (so a wrong name or no network fails at once, not after minutes of retries).

Shared by the embedding model and the transformers answer model; torch and huggingface_hub are imported when asked.
"""

from __future__ import annotations

import re

from bookqa.errors import ModelError

HUB_TIMEOUT = 5.0
"""Seconds to wait for the Hugging Face Hub when checking a model id that is not in the local cache."""

_KINDS = ("cpu", "cuda", "mps")
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def pick_device(setting: str, variable: str, *, cuda: bool | None = None, mps: bool | None = None) -> str:
    """The torch device named by ``setting`` (the value of ``variable``): ``auto`` is CUDA, then MPS, then CPU;
    otherwise ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, which this machine must have.

    ``cuda``/``mps``: whether those are available (asked of torch when None). Raises :class:`ModelError` naming
    ``variable`` for an unknown device or one this machine lacks.
    """
    value = setting.strip().lower()
    kind, _, index = value.partition(":")
    if value != "auto" and (kind not in _KINDS or (index and (kind != "cuda" or not index.isdigit()))):
        raise ModelError(
            f"{variable}={setting!r} is not a device name.",
            "Use auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps.",
        )
    if value == "cpu":
        return value
    if cuda is None or mps is None:
        import torch

        cuda = torch.cuda.is_available() if cuda is None else cuda
        backend = getattr(torch.backends, "mps", None)
        mps = bool(backend and backend.is_available()) if mps is None else mps
    if value == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (kind == "cuda" and not cuda) or (kind == "mps" and not mps):
        gpu = "no CUDA GPU is visible to torch" if kind == "cuda" else "MPS is not available to torch"
        raise ModelError(
            f"{variable}={setting!r}, but this machine has no {kind.upper()} device ({gpu}).", f"Set {variable} to auto or cpu."
        )
    return value


def is_model_id(name: str) -> bool:
    """Whether ``name`` reads as a Hugging Face model id (``name`` or ``owner/name``) rather than a path."""
    return bool(_REPO_ID.fullmatch(name)) and not name.startswith((".", "~", "/"))


def hub_model_is_cached(model_id: str, variable: str, hint: str) -> bool:
    """True when ``model_id`` is in the local Hugging Face cache; False when it is not but the Hub has it (it will be
    downloaded).

    Raises :class:`ModelError` for an id that is not valid, when Hub access is off (``HF_HUB_OFFLINE``), for a
    model the Hub does not know or keeps gated, and when the Hub cannot be reached within :data:`HUB_TIMEOUT`
    seconds. ``variable`` is the setting that named the model; ``hint`` says what else the user can do.
    """
    from huggingface_hub import HfApi, constants, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    if not is_model_id(model_id):
        raise ModelError(f"{variable}={model_id!r} is neither an existing folder nor a valid model id.", hint)
    try:
        if isinstance(try_to_load_from_cache(model_id, "config.json"), str):
            return True
    except HFValidationError:
        raise ModelError(f"{variable}={model_id!r} is neither an existing folder nor a valid model id.", hint) from None
    download = f"Download it where the Hub can be reached (`hf download {model_id}`), or: {hint}"
    if constants.HF_HUB_OFFLINE:
        raise ModelError(
            f"The model {model_id} is not in the local Hugging Face cache, and Hub access is off (HF_HUB_OFFLINE).", download
        )
    try:
        HfApi().model_info(model_id, timeout=HUB_TIMEOUT)
    except GatedRepoError:
        raise ModelError(
            f"The model {model_id} is gated on the Hugging Face Hub.",
            f"Accept its terms on its Hub page and log in with `hf auth login`. Otherwise: {hint}",
        ) from None
    except RepositoryNotFoundError:
        raise ModelError(f"There is no model {model_id!r} on the Hugging Face Hub.", hint) from None
    except Exception as exc:  # offline, no connection, timeout, server error: the HTTP client's own types
        raise ModelError(
            f"The model {model_id} is not in the local Hugging Face cache and the Hugging Face Hub cannot be reached "
            f"({type(exc).__name__}: {exc}).",
            download,
        ) from None
    return False
