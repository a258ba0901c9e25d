"""The one exception family a user can meet: every message says what went wrong and what to do."""

from __future__ import annotations


class BookQAError(Exception):
    """Base of every error a user can meet.

    ``message`` says what went wrong; ``hint`` says what to do about it (a command, a setting, a file).
    ``str(error)`` joins both, so a CLI or a page can show it as it is.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}".strip())


class InvalidPDFError(BookQAError):
    """The file is not a PDF that can be read (not a PDF at all, truncated, empty, encrypted, scanned)."""


class BookNotFoundError(BookQAError):
    """A book id or path names no book in the library."""


class IndexMismatchError(BookQAError):
    """A book folder was built with other settings or another format version than the current ones."""


class BuildRunningError(BookQAError):
    """A book is being built (in this process or another) and cannot be changed until the build has finished."""


class ModelError(BookQAError):
    """A model cannot be loaded: unknown name, missing package, no GPU, out of memory."""


class BackendError(BookQAError):
    """An answer backend failed while answering: server unreachable, timed out, returned an error."""


class SettingsError(BookQAError):
    """A setting (a ``BOOKQA_*`` environment variable) has a value that cannot be used."""
