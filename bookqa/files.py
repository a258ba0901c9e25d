"""Plain files, written safely: a file's sha256, JSON and JSON lines, a folder swapped into place whole, and a lock
file that says one process is at work.

Book folders and the converted embedding model are both built in a temporary folder and renamed into place, so a
reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, data: Any) -> None:
    """``data`` as readable UTF-8 JSON (non-ASCII kept as it is), written to a temporary name and renamed, so a reader
    sees the old file or the new one, whole."""
    part = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.part")
    part.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(part, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    """One JSON value per line."""
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[Any]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def temporary_folder(parent: Path, name: str) -> Path:
    """A new empty folder ``.NAME-…`` inside ``parent`` (created when missing), to build in before :func:`swap_folder`."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))


def swap_folder(tmp: Path, target: Path) -> None:
    """Rename the finished folder ``tmp`` to ``target``; an existing ``target`` is renamed aside first and deleted
    after, so ``target`` is always either the old folder or the new one, whole."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}-{time.time_ns()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class FileLock:
    """An exclusive lock on the file at ``path`` (created when missing), held by one open file at a time across
    processes and threads, and released by the system when its holder dies (``flock``; ``msvcrt.locking`` on
    Windows). Not re-entrant."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle: Any = None

    def acquire(self, blocking: bool = True, poll: float = 0.5, waiting: Callable[[], None] | None = None) -> bool:
        """Take the lock; returns False when ``blocking`` is False and another holder has it. While waiting,
        ``waiting()`` is called every ``poll`` seconds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")
        while not _try_lock(handle):
            if not blocking:
                handle.close()
                return False
            if waiting:
                waiting()
            time.sleep(poll)
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            _unlock(self._handle)
            self._handle.close()
            self._handle = None

    def held_elsewhere(self) -> bool:
        """Whether another holder has the lock now (a probe that takes and drops it when free)."""
        if self._handle is not None:
            return False
        if not self.acquire(blocking=False):
            return True
        self.release()
        return False

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


try:
    import fcntl

    def _try_lock(handle: Any) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: Any) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

except ImportError:  # Windows
    import msvcrt

    def _try_lock(handle: Any) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: Any) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
