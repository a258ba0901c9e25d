"""Plain files, written safely: a file's sha256, JSON and JSON lines, and a folder swapped into place whole.

Book folders and the converted embedding model are both built in a temporary folder and renamed into place, so a
reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, data: Any) -> None:
    """``data`` as readable UTF-8 JSON (non-ASCII kept as it is)."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


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
