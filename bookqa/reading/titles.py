"""Titles that name a part of a book rather than its subject: contents, front matter, bibliography, index,
and the prefatory chapters books leave unnumbered (前言, Preface)."""

from __future__ import annotations

import re

CONTENTS = "contents"
FRONT_MATTER = "front matter"
BIBLIOGRAPHY = "bibliography"
INDEX = "index"

_TITLES = {
    CONTENTS: {"目录", "目次", "contents", "tableofcontents", "briefcontents"},
    FRONT_MATTER: {"封面", "扉页", "版权", "版权页", "版权信息", "献词", "cover", "titlepage", "copyright", "dedication"},
    BIBLIOGRAPHY: {"参考文献", "参考书目", "文献", "bibliography", "references", "workscited"},
    INDEX: {"索引", "index"},
}
_PREFATORY = {"前言", "序言", "序", "致谢", "译者序", "preface", "foreword", "acknowledgments", "acknowledgements"}
_SYMBOLS = re.compile(r"[\W_]+")


def title_key(title: str) -> str:
    """Letters and digits only, lower case: how (normalised) titles are compared."""
    return _SYMBOLS.sub("", title).lower()


def title_kind(title: str) -> str | None:
    """``"contents"``, ``"front matter"``, ``"bibliography"`` or ``"index"`` for such a heading, else None."""
    key = title_key(title)
    return next((kind for kind, titles in _TITLES.items() if key in titles), None)


def is_unnumbered_matter(title: str) -> bool:
    """Whether a title names front or back matter that books print without a number (前言, References)."""
    return title_kind(title) is not None or title_key(title) in _PREFATORY
