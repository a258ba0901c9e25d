"""Command line: ``python -m bookqa index | list | rename | search | outline | page | eval | ask | study | quiz | cards``.

BOOK arguments are a PDF path (indexed on first use) or a book id from ``python -m bookqa list``.
Errors a user can meet print one message with what to do, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from bookqa.config import BackendName, Settings
from bookqa.errors import BookQAError
from bookqa.types import Hit, RetrievalMode, Signal

logger = logging.getLogger("bookqa")

EXIT_USER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = Settings.from_env()
        if getattr(args, "k", False) is None:  # one source of defaults: the settings
            args.k = settings.top_k
        if getattr(args, "mode", False) is None:
            args.mode = settings.retrieval_mode
        return args.run(args, settings)
    except BookQAError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# ---------------------------------------------------------------------------------------------- commands
def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.library.store import Library

    library = Library(settings)
    _announce_ocr(library, args.book, args.rebuild)
    with _StageBars() as bars:
        if not Path(args.book).is_file():  # a book id: rebuild it, or finish its vectors
            book_id = _require(library, args.book).book_id
            if args.rebuild:
                manifest, built = library.rebuild(book_id, progress=bars), True
            else:
                before = library.find(book_id)
                manifest = library.add_vectors(book_id, progress=bars)
                built = before is not None and not before.vectors_ready
        else:
            manifest, built = library.add(args.book, progress=bars, rebuild=args.rebuild)
    if bars.waited:
        print(f"{manifest.book_id}: built by another process meanwhile.")
    elif not built:
        print(f"{manifest.book_id}: already in the library with these settings (same sha256); use --rebuild to build again.")
    _print_manifest(manifest)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.library.store import Library

    library = Library(settings)
    manifests = library.manifests()
    if args.json:
        print(json.dumps([dict(m.to_json(), state=library.state(m)) for m in manifests], ensure_ascii=False, indent=1))
    elif not manifests:
        print(f"The library at {settings.books_dir} is empty. Add a book: python -m bookqa index BOOK.pdf")
    for m in manifests if not args.json else []:
        print(f"{m.book_id}  {m.title}  ({m.page_count} pages, {m.chunks} chunks, model {m.embedding_model}): {library.state(m)}")
    return 0


def cmd_rename(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.library.store import Library

    library = Library(settings)
    manifest = library.rename(_require(library, args.book).book_id, args.title)
    print(f"{manifest.book_id}: now called {manifest.title!r}")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    book = _open_book(args.book, settings)
    scope = _scope(book, args.section, args.pages)
    _note_keyword_only(book, args.mode, settings)
    if args.queries:
        return _search_batch(book, args, scope)
    if not args.query:
        raise BookQAError("Give a query, or --queries FILE.jsonl for a batch.", 'Example: python -m bookqa search BOOK "什么是 DenseNet"')
    hits = book.retriever.search(args.query, k=args.k, mode=args.mode, scope=scope)
    if args.json:
        for hit in hits:
            print(json.dumps(hit.to_json(book.pages), ensure_ascii=False))
    else:
        _print_hits(hits, book)
    return 0


def _search_batch(book: Any, args: argparse.Namespace, scope: Any) -> int:
    from bookqa.evaluation.metrics import load_questions, retrieval_query

    questions = load_questions(args.queries)
    book.retriever.search("warm up", k=1, mode=args.mode)  # first call loads lazily; timings below exclude it
    for question in questions:
        query = retrieval_query(question, book.retriever)
        started = time.perf_counter()
        hits = book.retriever.search(query, k=args.k, mode=args.mode, scope=scope)
        ms = (time.perf_counter() - started) * 1000
        row = {"id": question.id, "query": question.query, "ms": round(ms, 2), "hits": [h.to_json(book.pages) for h in hits]}
        if query != question.query:
            row["rewritten_query"] = query
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"== {question.id}: {question.query}  ({ms:.1f} ms)")
            _print_hits(hits, book)
    return 0


def cmd_outline(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.library.store import Library

    library = Library(settings)
    book = library.open(_ensure_indexed(library, args.book).book_id, searchable=False)
    if args.json:
        rows = [
            {"level": s.level, "number": s.number, "title": s.title, "start_page": s.start_page, "end_page": s.end_page}
            for s in book.outline
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for s in book.outline:
        pages = f"p.{book.label(s.start_page)}-{book.label(s.end_page)}"
        print(f"{'  ' * (s.level - 1)}{s.display_title}  ({pages}; physical {s.start_page}-{s.end_page})")
    return 0


def cmd_page(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.library.store import Library
    from bookqa.text import normalize_chars

    library = Library(settings)
    book = library.open(_ensure_indexed(library, args.book).book_id, searchable=False)
    last = book.manifest.page_count
    if not 1 <= args.number <= last:
        raise BookQAError(f"{book.manifest.title} has physical pages 1-{last}; there is no page {args.number}.", f"Give a page from 1 to {last}.")
    page = book.page(args.number)
    scanned = book.ocr_pages.get(args.number)
    if scanned is not None:
        lines = [{"text": normalize_chars(line.text).strip(), "bbox": [round(v, 1) for v in line.bbox],
                  "confidence": round(line.confidence, 3)} for line in scanned.lines]
    else:
        lines = [{"text": row.text, "bbox": [round(v, 1) for v in (row.x0, row.y0, row.x1, row.y1)], "confidence": None}
                 for row in _text_rows(book.pdf_path, args.number)]
    left_out = book.manifest.left_out.get(args.number)
    if args.json:
        out = {"page": page.number, "label": page.label, "source": "ocr" if scanned else "text", "text": page.text,
               "lines": lines, "left_out": left_out}
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    how = "read by OCR" if scanned else "from its text layer"
    print(f"page {page.number} (printed p.{page.label}), {how}" + (f"; left out of the index: {left_out}" if left_out else ""))
    print(page.text or "(no text on this page)")
    poor = [line for line in lines if scanned and line["confidence"] < settings.ocr_min_confidence]
    if poor:
        print(f"\n{len(poor)} line{'s' * (len(poor) > 1)} recognised below the confidence floor "
              f"(BOOKQA_OCR_MIN_CONFIDENCE={settings.ocr_min_confidence}), left out:")
        for line in poor:
            print(f"  {line['confidence']:.2f}  {line['text']}")
    return 0


def _text_rows(pdf_path: Path, number: int) -> Any:
    from bookqa.reading.layout import read_layout
    from bookqa.reading.pdf import open_pdf

    with open_pdf(pdf_path) as doc:
        return read_layout(doc.load_page(number - 1)).rows


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.evaluation.metrics import PAGES, SECTION, evaluate, load_questions, retrieval_query

    book = _open_book(args.book, settings)
    questions = load_questions(args.questions)
    depth = max(10, args.k)

    def ours(question: Any) -> list[Hit]:
        return book.retriever.search(retrieval_query(question, book.retriever), k=depth, mode=args.mode)

    _note_keyword_only(book, args.mode, settings)
    reports = {"bookqa": evaluate(questions, ours, k=args.k, judge=SECTION)}
    if args.baseline:
        if not book.retriever.dense:
            raise BookQAError(
                "The naive baseline needs the book's embedding model, and its vectors are not ready.",
                f"Finish them first: python -m bookqa index {book.book_id}",
            )
        from bookqa.evaluation.baseline import NaiveBaseline

        with _StageBars() as bars:
            baseline = NaiveBaseline(book.pdf_path, book.retriever.embedder, progress=lambda d, t: bars("baseline", d, t))
        reports["bookqa (judged by pages)"] = evaluate(questions, ours, k=args.k, judge=PAGES)
        reports["naive baseline (judged by pages)"] = evaluate(questions, lambda q: baseline.search(q.query, depth), k=args.k, judge=PAGES)
    left_out = book.manifest.left_out
    if args.json:
        out = {name: dict(r.figures(), misses=[m.question.id for m in r.misses]) for name, r in reports.items()}
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    for name, r in reports.items():
        excluded = sum(1 for res in r.results for h in res.hits[: r.k] if h.chunk.page_start in left_out)
        figures = ", ".join(f"{k} {v}" for k, v in r.figures().items() if v is not None)
        print(f"{name}: {figures}, hits on left-out pages in top {r.k}: {excluded}")
        for miss in r.misses:
            got = ", ".join(f"p.{h.chunk.page_start} {h.chunk.section_number or '-'}" for h in miss.hits[: r.k])
            print(f"  miss {miss.question.id} {miss.question.query!r}: gold {[g.number for g in miss.question.gold]}, got {got}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.answering.backends import load_backend
    from bookqa.answering.turn import ask
    from bookqa.evaluation.metrics import load_questions

    settings = _answer_settings(settings, args)
    book = _open_book(args.book, settings)
    scope = _scope(book, args.section, args.pages)
    _note_keyword_only(book, settings.retrieval_mode, settings)
    backend = load_backend(settings)
    if args.queries:
        rows = [(q.id, q.query, list(q.history)) for q in load_questions(args.queries)]
    elif args.question:
        rows = [(None, args.question, _read_history(args.history) if args.history else [])]
    else:
        raise BookQAError("Give a question, or --queries FILE.jsonl for a batch.", 'Example: python -m bookqa ask BOOK "什么是 DenseNet 模型"')
    for row_id, question, history in rows:
        turn = ask(question, retriever=book.retriever, backend=backend, settings=settings, history=history, scope=scope,
                   pages=book.pages, calibration=book.calibration)
        if args.json:
            answer = turn.result()
            out = {"id": row_id, "query": question} if row_id is not None else {}
            print(json.dumps(dict(out, **answer.to_json(book.pages)), ensure_ascii=False))
            continue
        if row_id is not None:
            print(f"== {row_id}: {question}")
        if turn.rewritten_query:
            print(f"(searched for: {turn.rewritten_query})")
        for piece in turn:
            print(piece, end="", flush=True)
        answer = turn.result()
        if answer.unverified:
            print(f"\n\n(also cited, but not among the sources below: p.{', p.'.join(answer.unverified)})", end="")
        print("\n\nSources:")
        for hit in answer.hits:
            cited = "*" if any(hit.chunk.page_start <= p <= hit.chunk.page_end for p in answer.citations) else " "
            print(f" {cited}p.{book.label(hit.chunk.page_start)}  {' > '.join(hit.chunk.section_path)}  (score {hit.score:.3f})")
        used = "no language model: sentences quoted from the book" if answer.backend == BackendName.EXTRACTIVE else f"{answer.backend} {answer.model}"
        print(f"[{used}; {answer.timings.get('total', 0):.2f} s]" + ("\n" if row_id is not None else ""))
    return 0


# ---------------------------------------------------------------------------------------------- study
def cmd_study(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.study.guide import StudyGuide

    book = _open_book(args.book, settings)
    guide = StudyGuide(book)
    sheet = guide.sheet(guide.find(args.section))
    if args.json:
        print(json.dumps(sheet.to_json(book.pages), ensure_ascii=False, indent=1))
        return 0
    print(sheet.section.display_title)
    for title, rows in (
        ("Key points" + ("" if all(p.summary for p in sheet.key_points) else " (the section's most central sentences)"),
         [f"{p.text}  (p.{book.label(p.page)})" for p in sheet.key_points]),
        ("Key terms", [f"{t.term}{f' ({t.english})' if t.english else ''}: {t.sentence.text}  (p.{book.label(t.page)})" for t in sheet.terms]),
        ("Exercises", [f"{e.text}  (p.{book.label(e.page)})".replace("\n", "\n      ") + "".join(
            f"\n    hint p.{book.label(h.page)} {h.section}: {h.excerpt}" for h in e.hints) for e in sheet.exercises]),
        ("Figures and tables", [f"{f.caption}  (p.{book.label(f.page)})" for f in sheet.figures]),
    ):
        print(f"\n{title}:" + ("" if rows else " none"))
        for row in rows:
            print(f"  - {row}")
    return 0


def cmd_quiz(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.answering.backends import load_backend
    from bookqa.study.guide import StudyGuide

    settings = _answer_settings(settings, args)
    book = _open_book(args.book, settings)
    guide = StudyGuide(book)
    section = guide.find(args.section)
    items = guide.quiz(section, n=args.n, seed=args.seed, backend=load_backend(settings))
    if not items:
        print(f"{section.display_title} defines no terms a self-test can ask about; try its chapter or another section.", file=sys.stderr)
    if args.json:
        for item in items:
            print(json.dumps(item.to_json(book.pages), ensure_ascii=False))
        return 0
    for number, item in enumerate(items, start=1):
        print(f"{number}. [{item.type}] {item.question}")
        for letter, option in zip("ABCDEFGH", item.options):
            print(f"     {letter}. {option}")
    if items:
        print("\nAnswers:")
    for number, item in enumerate(items, start=1):
        print(f"{number}. {item.answer}  (p.{book.label(item.page)}, {item.section}: {item.evidence})")
    return 0


def cmd_cards(args: argparse.Namespace, settings: Settings) -> int:
    from bookqa.study.decks import export
    from bookqa.study.guide import StudyGuide
    from bookqa.study.progress import ProgressStore, section_key

    library_book = _open_book(args.book, settings)
    guide = StudyGuide(library_book)
    section = guide.find(args.section)
    keys = [section_key(member) for member in guide.members(section)]
    cards = {card.id: card for card in guide.cards(section)}
    for stored in ProgressStore.of(settings).cards(args.profile, library_book.book_id, sections=keys):
        cards.setdefault(stored.card.id, stored.card)
    if args.export:
        path = export(list(cards.values()), args.export, f"{library_book.manifest.title}::{section.display_title}")
        print(f"Wrote {len(cards)} cards of {section.display_title} to {path}.")
        return 0
    for card in cards.values():
        print(f"- {card.front}  ->  {' '.join(card.back.split())}")
    print(f"{len(cards)} cards; export them with --export deck.apkg (Anki) or --export cards.csv.")
    return 0


def _scope(book: Any, section: str | None, pages: tuple[int, int] | None) -> Any:
    """The search scope of --section/--pages, refused when the book has no such section or pages."""
    from bookqa.index.retriever import Scope

    if section is not None and not any(s.number == section.strip() for s in book.outline):
        raise BookQAError(
            f"{book.manifest.title} has no section {section!r}.",
            f"python -m bookqa outline {book.book_id} lists its sections and their numbers.",
        )
    last = book.manifest.page_count
    if pages is not None and pages[1] > last:
        raise BookQAError(
            f"{book.manifest.title} has physical pages 1-{last}; --pages {pages[0]}-{pages[1]} goes beyond them.",
            f"Give a range within 1-{last}.",
        )
    return Scope(section=section, pages=pages)


def _answer_settings(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with --backend and --model applied (--model names the model of the chosen backend)."""
    changes: dict[str, Any] = {}
    if args.backend:
        changes["backend"] = args.backend
    if args.model:
        backend = changes.get("backend", settings.backend)
        changes["openai_model" if backend == BackendName.OPENAI else "llm_model"] = args.model
    return settings.replace(**changes) if changes else settings


def _read_history(path: str) -> list[Any]:
    """Turns of a conversation from a JSON file holding a list of {"role", "content"} objects."""
    from bookqa.types import Message

    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
        return [Message(str(r["role"]), str(r["content"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BookQAError(
            f"Cannot read the history file {path!r} ({exc}).", 'It must hold a JSON list of {"role": "user"|"assistant", "content": "..."}.'
        ) from None


# ---------------------------------------------------------------------------------------------- helpers
def _note_keyword_only(book: Any, mode: Any, settings: Settings) -> None:
    """Say on stderr when a search that wants the vectors runs by keywords only (the book's vectors are not ready)."""
    from bookqa.library.store import Library

    if book.retriever.mode_for(mode) != mode:
        print(f"note: {book.manifest.title} is {Library(settings).state(book.manifest)}; searching by keywords only.", file=sys.stderr)


def _print_hits(hits: Sequence[Hit], book: Any) -> None:
    if not hits:
        print("(no hits)")
    for hit in hits:
        c = hit.chunk
        pages = book.label(c.page_start) + (f"-{book.label(c.page_end)}" if c.page_end != c.page_start else "")
        signals = "  ".join(
            f"{name} {found.score:.3f} (#{found.rank})"
            for name in (Signal.DENSE, Signal.KEYWORD)
            if (found := hit.scores.signal(name)) is not None
        )
        excerpt = " ".join(c.text.split())[:160]
        print(f"{hit.rank:>2}. p.{pages}  {' > '.join(c.section_path) or '-'}  [{c.kind}]")
        print(f"    score {hit.score:.4f}  {signals}")
        print(f"    {excerpt}")


def _print_manifest(m: Any) -> None:
    reasons: dict[str, list[int]] = {}
    for page, reason in sorted(m.left_out.items()):
        reasons.setdefault(reason, []).append(page)
    print(f"book id   {m.book_id}")
    print(f"title     {m.title}")
    print(f"pages     {m.page_count}")
    print(f"sections  {m.sections}")
    print(f"chunks    {m.chunks} ({m.code_chunks} code)")
    print(f"left out  {len(m.left_out)} pages" + "".join(f"; {r}: {_ranges(p)}" for r, p in reasons.items()))
    if m.left_out_parts:
        print(f"          parts of {len(m.left_out_parts)} pages: " + ", ".join(f"{p} ({r})" for p, r in sorted(m.left_out_parts.items())))
    if m.vectors_ready:
        print(f"model     {m.embedding_model} ({m.embedding_dim} dimensions, {m.embedding_backend})")
        if m.encoded:
            print(f"vectors   {m.encoded['encoded']} passages encoded ({m.encoded['tokens']} tokens), {m.encoded['cached']} from the cache")
    else:
        print(f"search    {m.vector_state()}")
    print("times     " + ", ".join(f"{k} {v:.2f} s" for k, v in m.timings.items()))


def _ranges(pages: list[int]) -> str:
    """Compress [1,2,3,7] into "1-3, 7"."""
    spans: list[list[int]] = []
    for p in pages:
        if spans and p == spans[-1][1] + 1:
            spans[-1][1] = p
        else:
            spans.append([p, p])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


def _announce_ocr(library: Any, ref: str, rebuild: bool) -> None:
    """Say, before a build starts, how many pages OCR will read and about how long that takes."""
    from bookqa.reading.ocr import estimate_ocr

    path = Path(ref)
    if not path.is_file():
        manifest = library.find(ref) if rebuild else None
        if manifest is None:
            return
        path = library.root / manifest.book_id / "source.pdf"
    elif not rebuild and library.find(path) is not None:
        return
    plan = estimate_ocr(path, library.settings)
    if plan.keys:
        print(f"{path.name}: {plan.describe()}", file=sys.stderr)


def _require(library: Any, ref: str) -> Any:
    from bookqa.errors import BookNotFoundError

    manifest = library.find(ref)
    if manifest is None:
        raise BookNotFoundError(f"No book {ref!r} in the library.", "python -m bookqa list shows the books; index one with python -m bookqa index BOOK.pdf")
    return manifest


def _ensure_indexed(library: Any, ref: str) -> Any:
    """The manifest of ``ref``; a PDF path that is not in the library yet is indexed first."""
    if Path(ref).suffix.lower() == ".pdf" or Path(ref).is_file():
        _announce_ocr(library, ref, False)
        with _StageBars() as bars:
            manifest, _ = library.add(ref, progress=bars)
        return manifest
    return _require(library, ref)


def _open_book(ref: str, settings: Settings) -> Any:
    from bookqa.library.store import Library

    library = Library(settings)
    return library.open(_ensure_indexed(library, ref).book_id)


class _StageBars:
    """tqdm progress bars, one per build stage, driven by a (stage, done, total) callback."""

    LABELS = {
        "parse": "reading pages",
        "ocr": "reading scanned pages (OCR)",
        "embed": "embedding chunks",
        "wait": "another process is building this book; its vectors",
        "baseline": "embedding baseline windows",
    }

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}
        self.waited = False

    def __enter__(self) -> "_StageBars":
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        self.waited = self.waited or stage == "wait"
        bar = self.bars.get(stage)
        if bar is None:
            for finished in self.bars.values():  # a new stage begins: the earlier ones are done
                finished.close()
            bar = self.bars[stage] = tqdm(total=total, desc=self.LABELS.get(stage, stage), unit="", file=sys.stderr, leave=True)
        bar.update(done - bar.n)

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()


def _page_range(text: str) -> tuple[int, int]:
    try:
        first, _, last = text.partition("-")
        pages = (int(first), int(last or first))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a page range; use FIRST-LAST, e.g. 280-300") from None
    if pages[0] < 1 or pages[1] < pages[0]:
        raise argparse.ArgumentTypeError(f"{text!r} is not a page range; use FIRST-LAST with 1 <= FIRST <= LAST")
    return pages


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is too small: use 1 or more")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bookqa", description="Study a textbook PDF: index it, search it, ask it.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(run=run)
        return p

    p = command("index", cmd_index, "Index a PDF into the library (found again by its sha256, not rebuilt).")
    p.add_argument("book", help="a PDF file, or a book id with --rebuild")
    p.add_argument("--rebuild", action="store_true", help="build again even if the book is in the library")

    p = command("list", cmd_list, "List the books in the library.")
    p.add_argument("--json", action="store_true")

    p = command("rename", cmd_rename, "Give a book another name (how the list and the app show it; nothing is rebuilt).")
    p.add_argument("book", help="a book id (or a unique prefix of one) from python -m bookqa list")
    p.add_argument("title", help="the new name")

    p = command("search", cmd_search, "Search a book: a ranked list of passages with pages, sections and scores.")
    p.add_argument("book", help="a PDF path (indexed on first use) or a book id")
    p.add_argument("query", nargs="?", help="the question or keywords")
    p.add_argument("--k", type=_positive, help="how many hits (default: BOOKQA_TOP_K, 5)")
    p.add_argument("--mode", choices=RetrievalMode.values(), help="default: BOOKQA_RETRIEVAL_MODE (hybrid)")
    p.add_argument("--section", help='limit to a section and its subsections, e.g. "7.7"')
    p.add_argument("--pages", type=_page_range, help="limit to physical pages FIRST-LAST, e.g. 280-300")
    p.add_argument("--queries", help="a JSON-lines file of {id, query} rows: one result line per row")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = command("outline", cmd_outline, "Show the chapter/section tree of a book.")
    p.add_argument("book")
    p.add_argument("--json", action="store_true", help="a flat list of {level, number, title, start_page, end_page}")

    p = command("page", cmd_page, "Show what BookQA read on a page: its text, and its lines with boxes (OCR or text layer).")
    p.add_argument("book", help="a PDF path (indexed on first use) or a book id")
    p.add_argument("number", type=_positive, help="the physical page number (1-based)")
    p.add_argument("--json", action="store_true",
                   help='{"page", "label", "source": "text"|"ocr", "text", "lines": [{"text", "bbox", "confidence"}], "left_out"}')

    p = command("eval", cmd_eval, "Retrieval quality on a question file: hit@1, hit@k, MRR@10, precision@k, evidence@k.")
    p.add_argument("book")
    p.add_argument("--questions", required=True, help="JSON lines with gold sections and/or evidence")
    p.add_argument("--k", type=_positive, help="the k of hit@k, precision@k and evidence@k (default: BOOKQA_TOP_K, 5)")
    p.add_argument("--mode", choices=RetrievalMode.values(), help="default: BOOKQA_RETRIEVAL_MODE (hybrid)")
    p.add_argument("--baseline", action="store_true", help="also run the naive baseline (raw pages, 250-char windows, dense only)")
    p.add_argument("--json", action="store_true")

    p = command("ask", cmd_ask, "Ask a book a question: a streamed answer grounded in the book, with page citations.")
    p.add_argument("book", help="a PDF path (indexed on first use) or a book id")
    p.add_argument("question", nargs="?")
    _backend_options(p)
    p.add_argument("--section", help='limit retrieval to a section, e.g. "7.7"')
    p.add_argument("--pages", type=_page_range, help="limit retrieval to physical pages FIRST-LAST")
    p.add_argument("--history", help='a JSON file with earlier turns: [{"role": "user", "content": "..."}, ...]')
    p.add_argument("--queries", help="a JSON-lines file of {id, query, history?} rows: one answer per row")
    p.add_argument("--json", action="store_true", help="one JSON object per answer")

    p = command("study", cmd_study, "A study sheet of a chapter or section: key points, key terms, exercises with hints, figures.")
    p.add_argument("book", help="a PDF path (indexed on first use) or a book id")
    p.add_argument("--section", required=True, help='a section or chapter number, e.g. "7.7" or "7" (or its title)')
    p.add_argument("--json", action="store_true", help="the sheet as one JSON object")

    p = command("quiz", cmd_quiz, "A self-test on a chapter or section, each answer key checked on its page.")
    p.add_argument("book", help="a PDF path (indexed on first use) or a book id")
    p.add_argument("--section", required=True, help='a section or chapter number, e.g. "7.7"')
    p.add_argument("--n", type=_positive, default=10, help="how many items at most (default 10)")
    p.add_argument("--seed", type=int, help="the same seed gives the same items (default: a new test each time)")
    _backend_options(p, "; with a language model, also open questions")
    p.add_argument("--json", action="store_true", help="one JSON object per item: id, type, question, options, answer, evidence, page, page_label, section")

    p = command("cards", cmd_cards, "Flash cards of a chapter or section (its key terms, and the self-test items a profile missed).")
    p.add_argument("book", help="a PDF path (indexed on first use) or a book id")
    p.add_argument("--section", required=True, help='a section or chapter number, e.g. "7"')
    p.add_argument("--profile", default="me", help="whose missed items to include (default: me)")
    p.add_argument("--export", help="write the cards to FILE.apkg (an Anki deck) or FILE.csv")
    return parser


def _backend_options(p: argparse.ArgumentParser, note: str = "") -> None:
    """--backend and --model, for the commands that can answer with a language model."""
    p.add_argument("--backend", choices=[b for b in BackendName.values() if b != BackendName.AUTO], help=f"default: BOOKQA_BACKEND (auto){note}")
    p.add_argument("--model", help="model id or folder (transformers) or served model name (openai)")
