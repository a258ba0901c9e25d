"""Vector steps running in the background of a long-lived process (the app), one thread per book.

An upload writes the book's first step in the foreground (seconds) and hands the second, its vectors, to
:class:`VectorBuilds`; a book whose vectors were interrupted is resumed the same way when someone looks at it.
However many sessions ask, a book gets one thread here, and the library's build lock keeps other processes from
building it at the same time (a thread started while another process builds the book waits for it, then finds
the vectors done).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from bookqa.library.book import Manifest
from bookqa.library.store import Library

if TYPE_CHECKING:
    from bookqa.index.embedders import Embedder

log = logging.getLogger(__name__)


@dataclass
class Build:
    """One book's vector step in this process: passages ``done`` of ``total``, the ``error`` that stopped it."""

    thread: threading.Thread
    done: int = 0
    total: int = 0
    error: BaseException | None = None


class VectorBuilds:
    """The vector steps this process runs for ``library``'s books.

    ``embedder``: makes the passage embedder for a build (called in the build's thread, so the model loads there
    and is dropped when the build ends).
    """

    def __init__(self, library: Library, embedder: Callable[[], Embedder]) -> None:
        self.library = library
        self._embedder = embedder
        self._builds: dict[str, Build] = {}
        self._lock = threading.Lock()
        self.started = 0
        """How many threads this object has started (one per book that needed its vectors)."""

    def start(self, manifest: Manifest) -> bool:
        """Compute ``manifest``'s vectors in a background thread unless they are ready, a thread of this process is
        at it already, or a previous one failed (see :meth:`error`; :meth:`retry` starts again). Returns whether a
        thread was started."""
        if manifest.vectors_ready:
            return False
        with self._lock:
            build = self._builds.get(manifest.book_id)
            if build is not None and (build.thread.is_alive() or build.error is not None):
                return False
            build = Build(threading.Thread(target=self._run, args=(manifest.book_id,), name=f"vectors-{manifest.book_id}", daemon=True))
            build.total = manifest.chunks
            self._builds[manifest.book_id] = build
            self.started += 1
        build.thread.start()
        return True

    def retry(self, manifest: Manifest) -> bool:
        """Forget a failed build of ``manifest``'s book and :meth:`start` it again."""
        with self._lock:
            build = self._builds.get(manifest.book_id)
            if build is not None and not build.thread.is_alive():
                del self._builds[manifest.book_id]
        return self.start(manifest)

    def running(self, book_id: str) -> bool:
        """Whether a thread of this process is computing the book's vectors now."""
        build = self._builds.get(book_id)
        return build is not None and build.thread.is_alive()

    def progress(self, book_id: str) -> tuple[int, int] | None:
        """(passages done, total) of this process's build of the book, or None when it runs none."""
        build = self._builds.get(book_id)
        return (build.done, build.total) if build is not None else None

    def error(self, book_id: str) -> BaseException | None:
        """What stopped this process's build of the book (None while it runs, after it succeeded, or without one)."""
        build = self._builds.get(book_id)
        return build.error if build is not None else None

    def wait(self, book_id: str, timeout: float | None = None) -> bool:
        """Wait for this process's build of the book; returns whether none is running any more."""
        build = self._builds.get(book_id)
        if build is not None:
            build.thread.join(timeout)
        return not self.running(book_id)

    def _run(self, book_id: str) -> None:
        build = self._builds[book_id]

        def progress(stage: str, done: int, total: int) -> None:
            build.done, build.total = done, total

        try:
            self.library.add_vectors(book_id, embedder=self._embedder(), progress=progress)
        except BaseException as error:  # shown by the app; the book stays searchable by keywords
            log.warning("the vectors of %s failed: %s", book_id, error)
            build.error = error
