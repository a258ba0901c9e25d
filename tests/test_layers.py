"""Imports follow the data flow: leaves <- reading <- index <- answering <- library <- study <- evaluation <- cli, ui;
only bookqa/ui imports streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bookqa"
LAYERS = {"reading": 1, "index": 2, "answering": 3, "library": 4, "study": 5, "evaluation": 6, "cli": 7, "ui": 7}
"""The rank of each part of bookqa/; the shared leaves (types, errors, config, text, files, models) rank 0."""


def part(module: str) -> str:
    """The part of bookqa a dotted module name belongs to ("bookqa.index.retriever" -> "index"; ``python -m bookqa``
    is the command line)."""
    name = module.split(".")[1] if module.count(".") else ""
    return "cli" if name == "__main__" else name


def rank(module: str) -> int:
    return LAYERS.get(part(module), 0)


def imports_against_the_flow(package: Path) -> list[str]:
    """Every import in ``package`` that reaches a later stage than its own module's, or a peer at the top, or
    streamlit outside ui; as "file:line imports module"."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        module = ".".join(("bookqa", *path.relative_to(package).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                peer = rank(target) == rank(module) == 7 and part(target) != part(module)
                if target == "streamlit" or target.startswith("streamlit."):
                    against = part(module) != "ui"
                else:
                    against = target.startswith("bookqa.") and (rank(target) > rank(module) or peer)
                if against:
                    wrong.append(f"{path.relative_to(package.parent)}:{node.lineno} imports {target}")
    return wrong


def test_imports_follow_the_data_flow() -> None:
    assert imports_against_the_flow(PACKAGE) == []


def test_an_import_against_the_flow_is_caught(tmp_path: Path) -> None:
    reading = tmp_path / "bookqa" / "reading"
    reading.mkdir(parents=True)
    (reading / "layout.py").write_text("from bookqa.index.retriever import Retriever\nimport streamlit\n", encoding="utf-8")
    (tmp_path / "bookqa" / "text.py").write_text("from bookqa.reading.layout import Row\n", encoding="utf-8")
    assert imports_against_the_flow(tmp_path / "bookqa") == [
        "bookqa/reading/layout.py:1 imports bookqa.index.retriever",
        "bookqa/reading/layout.py:2 imports streamlit",
        "bookqa/text.py:1 imports bookqa.reading.layout",
    ]
