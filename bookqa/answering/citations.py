"""Citations in a reply: parse ``[p.291]`` (also ``[p. 291]``, ``[p.291, p.292]``, ``[p.291-293]``,
``[第291页]``, full-width brackets), map printed labels back to physical pages among the retrieved hits,
and mark the ones that point elsewhere.

A checked reply cites every retrieved page as ``[p.LABEL]``; a citation of a page that was not retrieved
becomes ``[p.LABEL?]`` and is never listed as a source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from bookqa.types import Hit, Pages

UNVERIFIED = "?"
"""Appended to a citation label whose page was not among the retrieved ones: ``[p.999?]``."""

MAX_RANGE = 10
"""Longest numeric range (``[p.291-293]``) expanded into single pages; a longer one is left as one label."""

_GROUP = re.compile(r"[\[【［]([^\[\]【】［］\n]{1,80})[\]】］]")
_PART_SPLIT = re.compile(r"\s*[,，;；、]\s*|\s+and\s+|\s*和\s*")
_MARKER = re.compile(r"^(?:pp?\.\s*|page\s+|第\s*)", re.IGNORECASE)
_LABEL = re.compile(r"[0-9A-Za-z]+(?:\s*[-–—~]\s*(?:pp?\.\s*)?[0-9A-Za-z]+)?")
_RANGE = re.compile(r"^(\d+)\s*[-–—~]\s*(?:pp?\.\s*)?(\d+)$")


@dataclass(frozen=True)
class CheckedCitations:
    """The outcome of checking a reply's citations.

    ``text``: the reply with its citations in the form ``[p.LABEL]`` and unretrieved ones marked
    ``[p.LABEL?]``. ``pages``: physical pages cited that were retrieved, in order of first citation.
    ``unverified``: labels cited that match no retrieved page, in order, without repeats.
    """

    text: str
    pages: tuple[int, ...]
    unverified: tuple[str, ...]


def parse_citations(text: str) -> list[str]:
    """The page labels ``text`` cites, in order of first appearance, without repeats."""
    labels: list[str] = []
    for match in _GROUP.finditer(text):
        labels += _labels(match.group(1)) or []
    return list(dict.fromkeys(labels))


def retrieved_pages(hits: Sequence[Hit]) -> list[int]:
    """Every physical page the ``hits`` span, in order, without repeats."""
    return sorted({p for hit in hits for p in range(hit.chunk.page_start, hit.chunk.page_end + 1)})


def check_citations(text: str, hits: Sequence[Hit], pages: Pages | None = None) -> CheckedCitations:
    """Check the citations of reply ``text`` against the pages of ``hits``.

    ``pages``: the book's pages, for printed labels (a page outside them, or every page without them, is cited by
    its number). A label maps to the retrieved page(s) printed with it.
    """
    pages = pages if pages is not None else Pages(())
    retrieved = retrieved_pages(hits)
    cited: list[int] = []
    unverified: list[str] = []

    def replace(match: re.Match[str]) -> str:
        labels = _labels(match.group(1))
        if labels is None:
            return match.group(0)
        out = []
        for label in labels:
            numbers = pages.numbers(label, among=retrieved)
            if numbers:
                cited.extend(numbers)
                out.append(f"[p.{label}]")
            else:
                unverified.append(label)
                out.append(f"[p.{label}{UNVERIFIED}]")
        return "".join(out)

    checked = _GROUP.sub(replace, text)
    return CheckedCitations(checked, tuple(dict.fromkeys(cited)), tuple(dict.fromkeys(unverified)))


def _labels(group: str) -> list[str] | None:
    """The labels inside one bracket, or None when it is not a page citation (e.g. ``[1]`` or ``[x]``).

    The first part must carry a page marker (``p.``, ``pp.``, ``page``, ``第…页``); later parts may be bare.
    """
    parts = [p.strip() for p in _PART_SPLIT.split(group.strip()) if p.strip()]
    if not parts or not _MARKER.match(parts[0]) or (parts[0].startswith("第") and not parts[0].endswith("页")):
        return None
    labels: list[str] = []
    for part in parts:
        label = re.sub(r"\s*页$", "", _MARKER.sub("", part, count=1))
        if not _LABEL.fullmatch(label):
            return None
        span = _RANGE.match(label)
        if span and 0 <= int(span.group(2)) - int(span.group(1)) <= MAX_RANGE:
            labels += [str(n) for n in range(int(span.group(1)), int(span.group(2)) + 1)]
        else:
            labels.append(label)
    return labels
