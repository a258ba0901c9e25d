"""Pages without a text layer, read by OCR: rapidocr's PP-OCR detection and recognition models (they ship in its
wheel) on onnxruntime, offline.

A page is rendered in grey at ``settings.ocr_dpi``; its text lines are detected and recognised, and each line keeps
its box (a quadrilateral in points: the lines of a slightly rotated scan are slanted), its recognition confidence
and its printed size, measured from the height of its ink. Pages are recognised in worker processes (one per core
by default) and each page's result is stored in the :class:`~bookqa.reading.page_cache.PageCache` by the hash of
the page's image, so no page is recognised twice. :mod:`bookqa.reading.ocr_layout` turns the lines into rows.
"""

from __future__ import annotations

import hashlib
import logging
import math
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol, Sequence

import pymupdf

from bookqa.config import OcrMode, Settings
from bookqa.reading.layout import PageLayout
from bookqa.reading.page_cache import PageCache
from bookqa.text import format_duration, is_cjk, is_han

if TYPE_CHECKING:  # numpy, OpenCV and onnxruntime load with the first page to recognise
    import numpy as np

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

FEW_CHARACTERS = 20
"""A page whose text layer has fewer characters than this and that is mostly one image is read by OCR (a scan with
a stray caption or a page number in its text layer)."""
IMAGE_SHARE = 0.5
"""Share of the page an image must cover for that page to count as a scanned page."""
DETECTION_SIDE = 960
"""Longest side, in pixels, of the image the text detector sees (lines are still recognised at ``ocr_dpi``);
bench/bench_ocr.py measures accuracy and time against it."""
FIRST_ESTIMATE_SECONDS = 10.0
"""Seconds one worker is assumed to take per page until this machine has measured its own rate."""

BLANK_SCAN = "blank scan"
NO_TEXT_FOUND = "no text found by OCR"
DAMAGED_IMAGE = "damaged image"
"""Why a recognised page has no lines (reasons for pages left out)."""

_CACHE_FORMAT = 3
_CJK_EXTENT = (0.84, -0.08)
_BRACKET_EXTENT = (0.75, -0.22)
_TALL, _X_HEIGHT, _LOW_MARK, _DESCENDER, _COMMA = 0.70, 0.48, 0.35, -0.21, -0.12
"""Glyph extents in ems above the baseline (cap height and ascenders, x-height, marks like "-" or "*", descenders,
commas), as in most text fonts: what a line's ink height is divided by to give its font size."""
_BRACKETS = set("()[]{}|")
_DESCENDING = set("gjpqy")
_ASCENDING = set("bdfhiklt!?/\\'\"#$%&@")
_LATIN_ADVANCE = 0.55
_ADVANCES = {" ": 0.25, ".": 0.28, ",": 0.28, ":": 0.28, ";": 0.28, "'": 0.25, "|": 0.25, "!": 0.3, "i": 0.28,
             "l": 0.28, "(": 0.33, ")": 0.33, "[": 0.33, "]": 0.33, "-": 0.33}
"""Advance widths in ems of the characters beside Chinese text (Latin letters and digits about half an em; a space
beside Chinese is the gap typesetters leave), to measure a mostly Chinese line along its length."""
_SIDE_BEARINGS = 0.1
"""What the first and the last glyph of a line leave blank of their advances, in ems."""
_PUNCTUATION_BLANK = 0.6
"""What a full-width punctuation mark ending (or opening) a line leaves blank of its em ("。" inks its left part)."""
_BLANK_INK = 0.001
"""A page image with less than this share of dark pixels is a blank scan."""


# ---------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class OcrLine:
    """One recognised line of a page.

    ``text``: as recognised (not yet normalised). ``quad``: its corners in points, clockwise from the top left
    ``(x0, y0, x1, y1, x2, y2, x3, y3)``, on the page as shown. ``confidence``: the recogniser's (0-1).
    ``size``: the font size it seems printed in, in points, from the height of its ink. ``shade``: how much darker
    than the page's paper the ground under it is (grey levels of 255; a shaded code listing).
    """

    text: str
    quad: tuple[float, ...]
    confidence: float
    size: float
    shade: int = 0

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """The upright box around the line: ``(x0, y0, x1, y1)`` in points."""
        xs, ys = self.quad[0::2], self.quad[1::2]
        return min(xs), min(ys), max(xs), max(ys)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "quad": [round(v, 2) for v in self.quad], "confidence": round(self.confidence, 4),
                "size": round(self.size, 2), "shade": self.shade}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "OcrLine":
        return cls(str(data["text"]), tuple(float(v) for v in data["quad"]), float(data["confidence"]), float(data["size"]),
                   int(data.get("shade", 0)))


@dataclass(frozen=True)
class OcrPage:
    """What OCR read on physical page ``number`` (1-based), its size in points and its lines in detection order.

    ``problem``: why it has no lines (``BLANK_SCAN``, ``NO_TEXT_FOUND``, ``DAMAGED_IMAGE``), else "".
    ``detail``: what the PDF library said about a damaged image. ``seconds``: recognition time (0 when cached).
    """

    number: int
    width: float
    height: float
    lines: tuple[OcrLine, ...]
    problem: str = ""
    detail: str = ""
    seconds: float = 0.0
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """The page as a book folder stores it (the page cache leaves the number out)."""
        data: dict[str, Any] = {"page": self.number, "width": round(self.width, 2), "height": round(self.height, 2),
                                "lines": [line.to_json() for line in self.lines]}
        if self.problem:
            data.update(problem=self.problem, detail=self.detail)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], number: int | None = None, cached: bool = False) -> "OcrPage":
        return cls(
            number=int(data.get("page", 0)) if number is None else number,
            width=float(data["width"]),
            height=float(data["height"]),
            lines=tuple(OcrLine.from_json(line) for line in data["lines"]),
            problem=str(data.get("problem", "")),
            detail=str(data.get("detail", "")),
            cached=cached,
        )


# ---------------------------------------------------------------------------------------------- recognisers
class Recogniser(Protocol):
    """Finds and reads the text lines of a grey page image.

    ``signature``: what decides its results (models, settings); part of every page's cache key.
    Called with a 2-D uint8 array, it returns ``(corners, text, confidence)`` per line, corners a 4x2 array of pixel
    positions clockwise from the top left. It must pickle (worker processes receive it).
    """

    signature: str

    def __call__(self, image: np.ndarray) -> list[tuple[Any, str, float]]: ...


class RapidRecogniser:
    """rapidocr's PP-OCR models, loaded on first use in each process.

    ``threads``: onnxruntime threads per model (0: its default, every core). ``detection_side``: the longest side
    the detector sees.
    """

    def __init__(self, threads: int = 0, detection_side: int = DETECTION_SIDE) -> None:
        self.threads = threads
        self.detection_side = detection_side
        self._engine: Any = None

    @property
    def signature(self) -> str:
        from importlib.metadata import version

        return f"rapidocr {version('rapidocr')} PP-OCRv6 small, no angle classifier, detection side {self.detection_side}"

    def __getstate__(self) -> dict[str, Any]:
        return {"threads": self.threads, "detection_side": self.detection_side, "_engine": None}

    def _load(self) -> Any:
        from rapidocr import RapidOCR

        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": False,  # pages are upright; the classifier only turns lines printed upside down
            "Global.text_score": 0.0,  # every line is kept; BOOKQA_OCR_MIN_CONFIDENCE decides what is used
            "Global.max_side_len": 100_000,  # no down-scaling: lines are recognised at the rendering resolution
            "Det.limit_type": "max",
            "Det.limit_side_len": self.detection_side,
        }
        if self.threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        return RapidOCR(params=params)

    def __call__(self, image: np.ndarray) -> list[tuple[Any, str, float]]:
        import cv2

        if self._engine is None:
            self._engine = self._load()
        result = self._engine(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
        if result.boxes is None or result.txts is None:
            return []
        return [(box, text, float(score)) for box, text, score in zip(result.boxes, result.txts, result.scores)]


def load_recogniser(settings: Settings, workers: int) -> Recogniser:
    """The recogniser for ``workers`` parallel processes: the cores shared out between them."""
    return RapidRecogniser(threads=max(1, (os.cpu_count() or 1) // workers))


# ---------------------------------------------------------------------------------------------- which pages
def needs_ocr(page: pymupdf.Page, characters: int, mode: OcrMode) -> bool:
    """Whether ``page``, whose text layer holds ``characters`` characters, is read by OCR: every page under
    ``force``; under ``auto`` a page without text that shows an image, or with only a few characters of text on an
    image covering most of the page."""
    if mode == OcrMode.FORCE:
        return True
    if mode == OcrMode.OFF or characters >= FEW_CHARACTERS:
        return False
    images = page.get_image_info()
    if characters == 0:
        return bool(images)
    area = abs(page.rect)
    return any(abs(pymupdf.Rect(info["bbox"]) & page.rect) >= IMAGE_SHARE * area for info in images)


def page_key(doc: pymupdf.Document, page: pymupdf.Page, dpi: int, signature: str) -> str:
    """The cache key of a page: the hash of its image as the PDF draws it (its content streams and the images
    they use, its size and rotation), the rendering resolution and the recogniser's signature."""
    digest = hashlib.sha256(f"{_CACHE_FORMAT}|{signature}|{dpi}|{tuple(page.rect)}|{page.rotation}".encode())
    for xref in page.get_contents():
        digest.update(doc.xref_stream_raw(xref) or b"")
    for image in page.get_images(full=True):
        digest.update(doc.xref_stream_raw(image[0]) or b"")
    return digest.hexdigest()


@dataclass(frozen=True)
class OcrPlan:
    """The pages of a PDF that OCR reads, and how long that should take.

    ``keys``: physical page number -> cache key, for every page to read, in page order. ``cached``: those already
    in the page cache. ``workers``: processes that will recognise the others. ``seconds_per_page``: one worker's
    time per page (measured on this machine in earlier scans, else a first guess).
    """

    keys: dict[int, str]
    cached: frozenset[int]
    workers: int
    seconds_per_page: float
    measured: bool

    @property
    def pages(self) -> list[int]:
        return list(self.keys)

    @property
    def to_recognise(self) -> list[int]:
        return [number for number in self.keys if number not in self.cached]

    @property
    def seconds(self) -> float:
        """Estimated wall time of the recognition."""
        todo = len(self.to_recognise)
        return math.ceil(todo / max(self.workers, 1)) * self.seconds_per_page if todo else 0.0

    def describe(self) -> str:
        """One sentence for a person: how many pages, how many already read, how long."""
        if not self.keys:
            return "Every page has a text layer: no OCR needed."
        text = f"{len(self.keys)} page{'s' * (len(self.keys) != 1)} to read by OCR"
        if self.cached:
            text += f" ({len(self.cached)} read before)"
        if self.to_recognise:
            guess = "" if self.measured else ", a first guess"
            text += f": about {format_duration(self.seconds)} with {self.workers} worker{'s' * (self.workers != 1)}{guess}"
        return text + "."


def plan_ocr(
    doc: pymupdf.Document, layouts: Sequence[PageLayout], settings: Settings, signature: str | None = None
) -> OcrPlan:
    """Which pages of ``doc`` (read into ``layouts``) OCR reads under ``settings``, and the estimate."""
    characters = [sum(len(row.text.strip()) for row in layout.rows) for layout in layouts]
    return _plan(doc, characters, settings, signature)


def estimate_ocr(source: str | os.PathLike[str] | bytes, settings: Settings, signature: str | None = None) -> OcrPlan:
    """The OCR plan of a PDF (a path, or its bytes: an upload) before it is built: which pages OCR would read, how
    many of them are in the page cache (of the recogniser with ``signature``; default rapidocr), how long the rest
    should take. A file that cannot be opened has an empty plan (building it reports what is wrong)."""
    try:
        doc = pymupdf.open(stream=source, filetype="pdf") if isinstance(source, bytes) else pymupdf.open(source)
    except Exception:  # PyMuPDF raises several types for unreadable files
        return OcrPlan({}, frozenset(), 0, 0.0, False)
    with doc:
        if doc.needs_pass:
            return OcrPlan({}, frozenset(), 0, 0.0, False)
        return _plan(doc, [len("".join(page.get_text("text").split())) for page in doc], settings, signature)


def _plan(doc: pymupdf.Document, characters: Sequence[int], settings: Settings, signature: str | None) -> OcrPlan:
    numbers = [index + 1 for index, count in enumerate(characters) if needs_ocr(doc.load_page(index), count, settings.ocr)]
    if not numbers:
        return OcrPlan({}, frozenset(), 0, 0.0, False)
    signature = signature or load_recogniser(settings, worker_count(settings, len(numbers))).signature
    keys = {number: page_key(doc, doc.load_page(number - 1), settings.ocr_dpi, signature) for number in numbers}
    cache = PageCache(settings.ocr_cache_dir)
    cached = frozenset(number for number, key in keys.items() if key in cache)
    remembered = cache.seconds_per_page()
    workers = worker_count(settings, len(keys) - len(cached))
    return OcrPlan(keys, cached, workers, remembered or FIRST_ESTIMATE_SECONDS, remembered is not None)


def worker_count(settings: Settings, pages: int) -> int:
    """Worker processes for ``pages`` pages: ``settings.ocr_workers`` (0: one per core), never more than pages."""
    wanted = settings.ocr_workers or os.cpu_count() or 1
    return max(1, min(wanted, pages))


# ---------------------------------------------------------------------------------------------- reading pages
def recognise_pages(
    path: str | os.PathLike[str],
    plan: OcrPlan,
    settings: Settings,
    recogniser: Recogniser | None = None,
    progress: Progress | None = None,
) -> dict[int, OcrPage]:
    """Read the pages of ``plan`` from the PDF at ``path``: cached pages from the page cache, the others by
    ``recogniser`` (default: rapidocr, in ``plan.workers`` processes). ``progress(done, total)`` after each page.
    Returns page number -> :class:`OcrPage`."""
    cache = PageCache(settings.ocr_cache_dir)
    total = len(plan.keys)
    results: dict[int, OcrPage] = {}
    for number in plan.keys:
        stored = cache.get(plan.keys[number]) if number in plan.cached else None
        if stored is not None:
            results[number] = OcrPage.from_json(stored, number=number, cached=True)
    if progress is not None:
        progress(len(results), total)
    jobs = [(number, plan.keys[number]) for number in plan.keys if number not in results]
    if not jobs:
        return results
    workers = min(plan.workers or 1, len(jobs))
    recogniser = recogniser or load_recogniser(settings, workers)
    started = time.perf_counter()
    pages = _in_process(path, jobs, settings, recogniser) if workers == 1 else _in_workers(path, jobs, settings, recogniser, workers)
    for page in pages:
        results[page.number] = page
        if progress is not None:
            progress(len(results), total)
    elapsed = time.perf_counter() - started
    cache.record_seconds_per_page(elapsed * workers / len(jobs))
    log.info("OCR: %d pages recognised in %.1f s with %d workers, %d from the cache", len(jobs), elapsed, workers,
             total - len(jobs))
    return dict(sorted(results.items()))


def _in_process(path: str | os.PathLike[str], jobs: list[tuple[int, str]], settings: Settings,
                recogniser: Recogniser) -> Iterable[OcrPage]:
    reader = _PageReader(str(path), settings.ocr_dpi, recogniser, settings.ocr_cache_dir)
    try:
        for number, key in jobs:
            yield reader.read(number, key)
    finally:
        reader.close()


def _in_workers(path: str | os.PathLike[str], jobs: list[tuple[int, str]], settings: Settings, recogniser: Recogniser,
                workers: int) -> Iterable[OcrPage]:
    """Pages as the worker processes finish them. Processes are spawned, not forked: the caller may hold threads
    (the app's server, onnxruntime's pools) that a fork would copy mid-flight."""
    context = multiprocessing.get_context("spawn")
    arguments = (str(path), settings.ocr_dpi, recogniser, settings.ocr_cache_dir)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=arguments) as pool:
        pending: set[Future[OcrPage]] = {pool.submit(_work, number, key) for number, key in jobs}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


_worker: _PageReader | None = None


def _start_worker(path: str, dpi: int, recogniser: Recogniser, cache_folder: Path) -> None:
    global _worker
    _worker = _PageReader(path, dpi, recogniser, cache_folder)


def _work(number: int, key: str) -> OcrPage:
    assert _worker is not None, "the worker was not started"
    return _worker.read(number, key)


class _PageReader:
    """Renders, recognises and caches pages of one PDF (one per process)."""

    def __init__(self, path: str, dpi: int, recogniser: Recogniser, cache_folder: Path) -> None:
        pymupdf.TOOLS.mupdf_display_errors(False)  # a damaged image is reported with its page, not on stderr
        self.doc = pymupdf.open(path)
        self.dpi = dpi
        self.recogniser = recogniser
        self.cache = PageCache(cache_folder)

    def read(self, number: int, key: str) -> OcrPage:
        started = time.perf_counter()
        page = read_page(self.doc.load_page(number - 1), self.dpi, self.recogniser)
        self.cache.put(key, {name: value for name, value in page.to_json().items() if name != "page"})
        return OcrPage(page.number, page.width, page.height, page.lines, page.problem, page.detail,
                       seconds=time.perf_counter() - started)

    def close(self) -> None:
        self.doc.close()


def render_for_ocr(page: pymupdf.Page, dpi: int) -> tuple[np.ndarray, str]:
    """The page as a grey image at ``dpi`` and what the PDF library reported while decoding its images ("" when
    nothing went wrong)."""
    import numpy as np

    pymupdf.TOOLS.reset_mupdf_warnings()
    pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    warnings = pymupdf.TOOLS.mupdf_warnings()
    samples = np.frombuffer(pixmap.samples, dtype=np.uint8)  # a copy: the pixmap's memory goes with the pixmap
    image = samples.reshape(pixmap.height, pixmap.stride)[:, : pixmap.width]
    errors = [line for line in warnings.splitlines() if "error" in line.lower()]
    return image, "; ".join(dict.fromkeys(errors))


def read_page(page: pymupdf.Page, dpi: int, recogniser: Recogniser) -> OcrPage:
    """Recognise one page: its lines with boxes in points, confidences and sizes; a reason when it has none."""
    import numpy as np

    number, rect = page.number + 1, page.rect
    try:
        image, damage = render_for_ocr(page, dpi)
    except Exception as error:  # MuPDF raises several types for what it cannot draw
        return OcrPage(number, rect.width, rect.height, (), DAMAGED_IMAGE, str(error))
    if is_blank(image):  # nothing to recognise (the back of a chapter's last page)
        return OcrPage(number, rect.width, rect.height, (), DAMAGED_IMAGE if damage else BLANK_SCAN, damage)
    scale = 72.0 / dpi
    paper = float(np.median(image))
    lines = []
    for corners, text, confidence in recogniser(image):
        if not text.strip():
            continue
        corners = [(float(x), float(y)) for x, y in corners]
        quad = tuple(value * scale for point in corners for value in point)
        height, width, ground = measure_line(image, corners)
        size = font_size(text, height * scale, width * scale)
        lines.append(OcrLine(text, quad, confidence, round(size, 2), max(0, round(paper - ground))))
    if lines:
        return OcrPage(number, rect.width, rect.height, tuple(lines), detail=damage)
    return OcrPage(number, rect.width, rect.height, (), DAMAGED_IMAGE if damage else NO_TEXT_FOUND, damage)


def measure_line(image: np.ndarray, corners: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    """The height and the width, in pixels, of the ink of the line inside ``corners`` (measured along its slant:
    from the top of its tallest glyph to the bottom of its lowest, from its first glyph to its last), and the grey
    level of the ground around its ink."""
    import cv2
    import numpy as np

    (x0, y0), (x1, y1), _, (x3, y3) = corners
    width, height = math.hypot(x1 - x0, y1 - y0), math.hypot(x3 - x0, y3 - y0)
    if width < 2 or height < 2:
        return height, width, 255.0
    source = np.float32([[x0, y0], [x1, y1], [x3, y3]])
    target = np.float32([[0, 0], [width, 0], [0, height]])
    crop = cv2.warpAffine(image, cv2.getAffineTransform(source, target), (round(width), round(height)),
                          flags=cv2.INTER_LINEAR, borderValue=255)
    _, ink = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    ground = float(np.median(crop[ink == 0])) if (ink == 0).any() else 255.0
    rows, columns = np.flatnonzero(ink.sum(axis=1) >= 2), np.flatnonzero(ink.sum(axis=0) >= 2)
    if not rows.size:
        return height, width, ground
    return float(rows[-1] - rows[0] + 1), float(columns[-1] - columns[0] + 1), ground


def font_size(text: str, ink_height: float, ink_width: float) -> float:
    """The font size, in points, of a line of ``text`` whose ink is ``ink_height`` by ``ink_width`` points. Chinese
    characters all advance one em, so a line that is mostly Chinese is measured along its length (its ink height
    depends on which characters it holds, more so in a short heading); other lines by their height against the
    glyphs they hold (:func:`ink_span`)."""
    wide = sum(1 for char in text if is_cjk(char))
    text = text.strip()
    if wide >= 2 and 2 * wide >= len(text.replace(" ", "")):
        ems = sum(1.0 if is_cjk(char) else _ADVANCES.get(char, _LATIN_ADVANCE) for char in text)
        ems -= sum(_PUNCTUATION_BLANK for char in (text[0], text[-1]) if is_cjk(char) and not is_han(char))
        return ink_width / max(ems - _SIDE_BEARINGS, 1.0)
    return ink_height / ink_span(text)


def ink_span(text: str) -> float:
    """How tall the ink of ``text`` is, in ems: from the lowest descender to the highest top among its characters
    (a line of "ocean" is shorter than one of "Typhoon", or of Chinese, set at the same size)."""
    extents = [_extent(char) for char in text if not char.isspace()]
    if not extents:
        return _TALL
    return max(top for top, _ in extents) - min(bottom for _, bottom in extents)


def _extent(char: str) -> tuple[float, float]:
    """(top, bottom) of a character's glyph in ems above the baseline, as most text fonts draw it."""
    if is_cjk(char):
        return _CJK_EXTENT
    if char in _BRACKETS:
        return _BRACKET_EXTENT
    bottom = _DESCENDER if char in _DESCENDING else _COMMA if char in ",;" else 0.0
    if char.isupper() or char.isdigit() or char in _ASCENDING:
        return _TALL, bottom
    if char.isalpha():
        return _X_HEIGHT, bottom
    return _LOW_MARK, bottom


def is_blank(image: np.ndarray) -> bool:
    """Whether a page image has (next to) no dark pixels."""
    return float((image < 128).mean()) < _BLANK_INK
