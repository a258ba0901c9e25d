"""What OCR read on each page, kept under the data folder by the hash of the page's image.

One small JSON file per page (``pages/ab/abcdef….json``), written whole (a temporary file renamed into place) as
soon as the page is read, so a rebuild, a changed chunk setting, the same scan added under another name or a build
resumed after an interruption never recognises a page twice. The cache also remembers how long a page took on this
machine, so the next scan's duration can be estimated before it starts.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_RATE = "rate.json"
_KEEP = 0.7
"""How much of the remembered time per page a new measurement leaves standing (a moving average)."""


class PageCache:
    """The page cache in ``folder`` (created on the first write)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / "pages" / key[:2] / f"{key}.json"

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()

    def get(self, key: str) -> dict[str, Any] | None:
        """What was stored under ``key``, or None (also for an unreadable file, which is then read again)."""
        path = self._path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("ignoring the damaged OCR cache file %s (%s)", path, error)
            return None

    def put(self, key: str, data: dict[str, Any]) -> None:
        """Store ``data`` under ``key``, whole or not at all."""
        _write_whole(self._path(key), data)

    def seconds_per_page(self) -> float | None:
        """How many seconds one worker took per page in the scans read so far, or None before the first."""
        try:
            value = float(json.loads((self.folder / _RATE).read_text(encoding="utf-8"))["seconds_per_page"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return value if value > 0 else None

    def record_seconds_per_page(self, seconds: float) -> None:
        """Fold a new measurement of one worker's seconds per page into the remembered one."""
        known = self.seconds_per_page()
        value = seconds if known is None else _KEEP * known + (1 - _KEEP) * seconds
        _write_whole(self.folder / _RATE, {"seconds_per_page": round(value, 3)})


def _write_whole(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
