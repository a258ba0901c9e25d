"""Pieces the pages are made of: the sidebar's parts, a hit, a source list, an answer's notes, a page image,
the retrieval table and charts. Book text is always escaped (shown as text, never as Markdown or HTML).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import plotly.graph_objects as go
import streamlit as st

from bookqa.answering.conversation import Exchange
from bookqa.config import BackendName
from bookqa.errors import BookQAError
from bookqa.library.book import Book, Manifest
from bookqa.library.store import StageProgress
from bookqa.library.uploads import add_pdf_bytes
from bookqa.text import escape_markdown, format_duration
from bookqa.types import Answer, ChunkKind, Hit
from bookqa.ui import resources, state, views

if TYPE_CHECKING:
    from bookqa.index.retriever import Scope
    from bookqa.index.tokenizer import Tokenizer

OVERVIEW = "app_pages/overview.py"
CHAT = "app_pages/chat.py"
INSPECTOR = "app_pages/retrieval_inspector.py"
BROWSER = "app_pages/chapter_browser.py"
STUDY = "app_pages/study.py"
ICON = str(Path(__file__).with_name("icon.png"))
"""The app's favicon, served by the app itself (a Material icon as page icon would be fetched from Google's fonts)."""

PAGE_ZOOM = 1.6
PRIMARY = "#c2410c"
"""The theme's primary colour (.streamlit/config.toml), for charts."""
SIGNAL_COLOURS = {"fused": PRIMARY, "dense": "#2563eb", "keyword": "#15803d"}
STAGES = {"parse": "Reading pages", "ocr": "Reading scanned pages (OCR)", "embed": "Embedding passages",
          "wait": "Another process is indexing this book"}
ASK_BEFORE_SECONDS = 180
"""A scan whose OCR should take longer than this is only read when the user says so."""
EXCERPT_CHARS = 120
TABLE_COLUMNS = ("rank", "page", "section", "fused", "dense", "dense_rank", "keyword", "keyword_rank", "kind", "preview")


# ------------------------------------------------------------------------------------------------ text
def highlighted(text: str, query: str, tokenizer: Tokenizer) -> str:
    """``text`` as escaped Markdown with the query's terms (as the book's ``tokenizer`` finds them) in bold, in the
    theme's orange."""
    return "".join(
        f":orange[**{escape_markdown(piece)}**]" if matched else escape_markdown(piece)
        for piece, matched in views.term_spans(text, query, tokenizer)
    )


def show_error(error: BookQAError) -> None:
    """An error a user can meet: what went wrong, and what to do (a command in the hint shown as code)."""
    st.error(f"**{escape_markdown(error.message)}**" + (f"  \n{with_code(error.hint)}" if error.hint else ""), icon=":material/error:")


def with_code(text: str) -> str:
    """``text`` escaped, but its `backticked` commands as inline code."""
    return "".join(f"`{piece}`" if odd else escape_markdown(piece) for odd, piece in ((i % 2, p) for i, p in enumerate(text.split("`"))))


def file_size(size: int) -> str:
    """``size`` bytes as "640 KB" or "12.3 MB"."""
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(size / 2**10, 1):.0f} KB"


# ------------------------------------------------------------------------------------------------ books
def selected_manifest() -> Manifest | None:
    """The manifest of the book picked in the sidebar, or None when the library is empty."""
    book_id = state.selected_book_id()
    return resources.library().find(book_id) if book_id else None


def current_book(searchable: bool = True) -> Book:
    """The selected book, opened; without one (or when it cannot be opened) the page says what to do and stops."""
    manifest = selected_manifest()
    if manifest is None:
        st.info("There is no book in the library yet. Add the sample book on the overview page, or upload a PDF "
                "in the sidebar.", icon=":material/library_add:")
        st.page_link(OVERVIEW, label="Go to the overview", icon=":material/arrow_forward:")
        st.stop()
    book = open_book(manifest, searchable)
    if book is None:
        st.page_link(OVERVIEW, label="Rebuild it with its Rebuild button on the overview", icon=":material/refresh:")
        st.stop()
    return book


def open_book(manifest: Manifest, searchable: bool = True) -> Book | None:
    """``manifest``'s book, opened; None after showing why it cannot be (built with other settings, damaged)."""
    try:
        return resources.book(manifest, searchable=searchable)
    except BookQAError as error:
        show_error(error)
        return None


def build_book(what: str, build: Callable[[StageProgress], Manifest]) -> Manifest | None:
    """Run ``build(progress)`` (the first step of indexing a book) in a status box with a live progress bar, then
    hand the vectors to the background (:func:`resources.builds`).

    Returns the manifest, or None after showing why the build failed (the library is unchanged then).
    """
    try:
        return run_build(what, build)
    except BookQAError as error:
        show_error(error)
        return None


def run_build(what: str, build: Callable[[StageProgress], Manifest]) -> Manifest:
    """Run ``build(progress)`` (pages, outline, chunks and keyword index: seconds) in a status box with a live
    progress bar, then start the book's vectors in the background; the box says how it ended. Raises the build's
    BookQAError (the library is unchanged then)."""
    with st.status(f"Indexing {what}…", expanded=True) as box:
        bar = st.progress(0.0, text="Opening the PDF…")
        starts: dict[str, tuple[float, int]] = {}

        def progress(stage: str, done: int, total: int) -> None:
            now = time.perf_counter()
            since, first = starts.setdefault(stage, (now, done))
            text = f"{STAGES.get(stage, stage)}: {done} of {total}"
            if first < done < total and now - since > 2:
                text += f", about {format_duration((now - since) / (done - first) * (total - done))} left"
            bar.progress(min(done / max(total, 1), 1.0), text=text)

        try:
            manifest = build(progress)
        except BookQAError:
            bar.empty()
            box.update(label=f"Could not index {what}", state="error", expanded=False)
            raise
        resources.builds().start(manifest)
        ready = "" if manifest.vectors_ready else "; keyword search works now, the vectors follow in the background"
        box.update(label=f"Indexed {manifest.title}: {manifest.chunks} passages{ready}", state="complete")
    resources.forget_books()
    return manifest


# ------------------------------------------------------------------------------------------------ sidebar
def book_picker(manifests: Sequence[Manifest]) -> Manifest | None:
    """The sidebar's book picker over every book in the library; returns the selected book's manifest."""
    by_id = {m.book_id: m for m in manifests}
    state.settle_book(list(by_id))
    if not by_id:
        st.caption("The library is empty.")
        return None
    book_id = st.selectbox(
        "Book", list(by_id), key=state.BOOK, on_change=state.book_changed,
        format_func=lambda i: f"{by_id[i].title} ({by_id[i].page_count} pages)",
    )
    return by_id.get(book_id)


def upload_box() -> None:
    """Add a PDF: size-checked, stored by content hash, indexed with progress, then selected; when it cannot be
    indexed, why is shown under an emptied uploader, ready for the next file."""
    limit = resources.settings().max_upload_mb
    failed = state.take_upload_error()
    with st.expander("Add a book (PDF)", icon=":material/upload_file:", expanded=failed is not None):
        upload = st.file_uploader(
            f"PDF, up to {limit} MB", type=["pdf"], key=f"upload-{state.upload_round()}", max_upload_size=limit
        )
        if failed is not None:
            show_error(failed)
        if upload is None:
            return
        if not state.scan_confirmed() and not _long_scan_confirmed(upload.name, upload.getvalue()):
            return
        try:
            manifest = run_build(upload.name, lambda progress: add_pdf_bytes(
                resources.library(), upload.getvalue(), upload.name, progress=progress, vectors=False
            ))
        except BookQAError as error:  # shown under a fresh, empty uploader, ready for the next file
            state.keep_upload_error(error)
        else:
            state.select_book(manifest.book_id)
            state.notify(f"Added {manifest.title}.")
    state.next_upload_round()
    st.rerun()


def _long_scan_confirmed(name: str, data: bytes) -> bool:
    """True when the upload can be indexed now; for a scan whose OCR would take more than a few minutes, asks
    first (False until the user starts it; cancelling empties the uploader)."""
    from bookqa.reading.ocr import estimate_ocr  # PyMuPDF only when a file arrives

    plan = estimate_ocr(data, resources.settings())
    if plan.seconds <= ASK_BEFORE_SECONDS:
        return True
    st.warning(f"**{escape_markdown(name)}** looks scanned: {escape_markdown(plan.describe())} "
               "Pages read once are kept, so a later rebuild is quick.", icon=":material/document_scanner:")
    start, cancel = st.columns(2)
    if start.button("Read it now", type="primary", icon=":material/play_arrow:", width="stretch"):
        state.confirm_scan()
        st.rerun()
    if cancel.button("Cancel", icon=":material/close:", width="stretch"):
        state.next_upload_round()
        st.rerun()
    return False


def status_lines(manifest: Manifest | None) -> None:
    """The answer backend, the device and the selected book's index, one line each."""
    st.caption(f":material/smart_toy: Answers: {escape_markdown(resources.backend_summary())}")
    st.caption(f":material/memory: Device: {escape_markdown(resources.device())}")
    if manifest is None:
        return
    why = manifest.mismatch(resources.settings())
    if why:
        st.caption(f":material/warning: Index needs a rebuild: {escape_markdown(why)}")
    elif not manifest.vectors_ready:
        vector_progress(manifest, "sidebar", time.monotonic())
    else:
        st.caption(
            f":material/check_circle: Index ready: {manifest.chunks} passages, {manifest.embedding_model}, "
            f"built {escape_markdown(manifest.built_at[:16].replace('T', ' '))}"
        )


VECTOR_REFRESH_S = 2.0
"""How often a page showing a book whose vectors are being computed looks at their progress."""


@st.fragment(run_every=VECTOR_REFRESH_S)
def vector_progress(manifest: Manifest, where: str, drawn_at: float) -> None:
    """While ``manifest``'s vectors are missing: start (or resume) them in the background unless a build of this or
    another process is at it, and show how far they are; when they land, rerun the app, so every page searches
    with them (hybrid) without a restart. ``where``: which part of the page shows it (for widget keys).
    ``drawn_at``: when the page drew it (a fragment rerun gets the same value): within that run, vectors that land
    wait for the next refresh, so what the run showed once (a notice) is not lost to a rerun."""
    builds = resources.builds()
    current = resources.library().find(manifest.book_id) or manifest
    if current.vectors_ready:
        if time.monotonic() - drawn_at > VECTOR_REFRESH_S / 2:
            resources.forget_books()
            st.rerun(scope="app")
        return
    if not builds.running(current.book_id) and not resources.library().building(current):
        builds.start(current)
    error = builds.error(current.book_id)
    if error is not None:
        st.caption(f":material/error: The vectors could not be computed ({escape_markdown(str(error))}); "
                   "search works by keywords.")
        if st.button("Try again", key=f"vectors-retry-{where}-{current.book_id}", icon=":material/refresh:"):
            builds.retry(current)
        return
    done, total = builds.progress(current.book_id) or (current.vectors_done, current.chunks)
    share = min(done / max(total, 1), 0.99)
    st.progress(share, text=f"Keyword search only: vectors {share:.0%} ({done} of {total} passages)")


def notice() -> None:
    """The message left by the previous run (a book added or removed), shown once."""
    text = state.take_notice()
    if text:
        st.success(escape_markdown(text), icon=":material/check:")


# ------------------------------------------------------------------------------------------------ search
def scope_picker(book: Book) -> tuple[Scope, str]:
    """Whole book, a chapter or a section; shared by the chat and the inspector. Returns (scope, label)."""
    choices = views.scope_choices(book.outline)
    position = st.selectbox(
        "Search in", range(len(choices)), format_func=lambda i: views.scope_label(choices[i]),
        key=state.scope_key(book.book_id), persist_state="session",
    )
    section = choices[position]
    return views.scope_of(section), ("" if section is None else section.display_title)


def keyword_only_note(book: Book) -> None:
    """Under a search box of a book whose vectors are not ready: the search runs by keywords for now."""
    if book.retriever is not None and not book.retriever.dense:
        st.info(f"{escape_markdown(book.manifest.title)} is searched by keywords only until its vectors are ready "
                f"({book.manifest.vector_share:.0%} now; the sidebar shows their progress). Hybrid search switches "
                "on by itself when they are.", icon=":material/hourglass_top:")


def source_list(hits: Sequence[Hit], book: Book) -> None:
    """Each source: page label, section, score and a short excerpt, linking to its page in the chapter browser."""
    for hit in hits:
        chunk = hit.chunk
        section = chunk.section_path[-1] if chunk.section_path else "—"
        st.page_link(
            BROWSER,
            label=f"p.{escape_markdown(book.label(chunk.page_start))} · {escape_markdown(section)}",
            icon=":material/menu_book:",
            query_params={state.PAGE: str(chunk.page_start), state.PASSAGE: chunk.id},
        )
        excerpt = " ".join(chunk.text.split())
        excerpt = excerpt[:EXCERPT_CHARS] + ("…" if len(excerpt) > EXCERPT_CHARS else "")
        st.caption(f"score {hit.score:.3f} · {escape_markdown(excerpt)}")


def answer_details(answer: Answer, book: Book, expanded: bool = True) -> None:
    """Under an answer: the rewritten query, the flags, and the sources (``expanded``: shown open)."""
    if answer.rewritten_query:
        st.caption(f":material/edit_note: Follow-up searched as: {escape_markdown(answer.rewritten_query)}")
    if answer.low_confidence:
        st.warning("The book does not seem to cover this question, so there is no answer from it. "
                   "Try other words, or widen the search scope.", icon=":material/help:")
    if answer.unverified:
        st.caption(f":material/report: Also cited, but not among the retrieved passages (so not a source): "
                   f"p.{escape_markdown(', p.'.join(answer.unverified))}")
    if answer.backend == BackendName.EXTRACTIVE:
        st.badge("Quoted from the book: no language model", icon=":material/format_quote:", color="gray")
    if answer.hits:
        with st.expander(f"Sources ({len(answer.hits)})", expanded=expanded):
            source_list(answer.hits, book)


def exchange(item: Exchange, book: Book, latest: bool) -> None:
    """One question and its answer (or error) as chat messages; the ``latest`` one shows its sources open."""
    with st.chat_message("user"):
        st.markdown(escape_markdown(item.question))
        if item.scope:
            st.caption(f"in {escape_markdown(item.scope)}")
    with st.chat_message("assistant"):
        if item.answer is None:
            st.error(escape_markdown(item.error or "No answer."), icon=":material/error:")
        else:
            st.markdown(item.answer.text)
            answer_details(item.answer, book, expanded=latest)


def hit_detail(hit: Hit, book: Book, query: str) -> None:
    """One hit in full: its text with the query's terms highlighted, beside its page with the passage marked."""
    path = hit.chunk.section_path
    st.subheader(f"#{hit.rank} · p.{escape_markdown(book.label(hit.chunk.page_start))} · {escape_markdown(path[-1] if path else '—')}",
                 anchor=False)
    st.caption(escape_markdown(" > ".join(path)))
    text_column, page_column = st.columns(2)
    if hit.chunk.kind != ChunkKind.PROSE:  # code, or a formula's symbols in extraction order: shown as set
        text_column.code(hit.chunk.text, language="python" if hit.chunk.kind == ChunkKind.CODE else None)
    else:
        assert book.retriever is not None
        text_column.markdown(highlighted(hit.chunk.text, query, book.retriever.tokenizer))
    with page_column:
        pages = list(range(hit.chunk.page_start, hit.chunk.page_end + 1))
        page = pages[0] if len(pages) == 1 else st.segmented_control(
            "Page", pages, default=pages[0], format_func=book.label, required=True
        )
        page_image(book, page, highlight=[hit.chunk.text])


def hits_table(hits: Sequence[Hit], book: Book, key: str, selectable: bool = True) -> int | None:
    """The hits as a table with every signal's score and rank; returns the selected row (None: none)."""
    rows = views.hit_rows(hits, book)
    config = {
        "rank": st.column_config.NumberColumn("Rank", width="small"),
        "fused": st.column_config.NumberColumn("Fused", format="%.3f", help=book.retriever.fusion.describe()),
        "dense": st.column_config.NumberColumn("Dense", format="%.3f", help="Cosine similarity of the embeddings"),
        "dense_rank": st.column_config.NumberColumn("Dense #", width="small"),
        "keyword": st.column_config.NumberColumn("Keyword", format="%.2f", help="BM25 score"),
        "keyword_rank": st.column_config.NumberColumn("Keyword #", width="small"),
        "page": st.column_config.TextColumn("Page", width="small", help="Printed page label"),
        "section": st.column_config.TextColumn("Section", width="medium"),
        "kind": st.column_config.TextColumn("Kind", width="small"),
        "preview": st.column_config.TextColumn("Text", width="large"),
    }
    columns = [name for name in TABLE_COLUMNS if any(row[name] is not None for row in rows)]  # this mode's signals
    if not selectable:
        st.dataframe(rows, column_config=config, column_order=columns, hide_index=True, key=key)
        return None
    event = st.dataframe(
        rows, column_config=config, column_order=columns, hide_index=True, key=key, on_select="rerun",
        selection_mode="single-row",
    )
    rows = event.selection.rows
    return rows[0] if rows and rows[0] < len(hits) else None


def score_chart(hits: Sequence[Hit]) -> None:
    """Scores by rank, one panel per signal, each on its own scale (plain graph objects: plotly express
    and make_subplots take ~0.2 s per figure, which every rerun of the inspector would pay)."""
    rows = views.score_rows(hits)
    signals = [name for name in views.SIGNALS if any(row["signal"] == name for row in rows)]
    if not signals:
        return
    layout: dict = {"height": 260, "showlegend": False, "margin": dict(l=10, r=10, t=30, b=10), "annotations": []}
    traces = []
    for i, name in enumerate(signals):
        suffix = str(i + 1) if i else ""
        left, right = i / len(signals) + 0.04, (i + 1) / len(signals) - 0.02
        layout[f"xaxis{suffix}"] = {"domain": [left, right], "anchor": f"y{suffix}", "dtick": 1,
                                    "range": [0.5, len(hits) + 0.5], "title": {"text": "rank"}}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}"}
        layout["annotations"].append({"text": name, "x": (left + right) / 2, "y": 1.12, "xref": "paper",
                                      "yref": "paper", "showarrow": False})
        mine = [row for row in rows if row["signal"] == name]
        traces.append(go.Bar(x=[r["rank"] for r in mine], y=[r["score"] for r in mine], name=name,
                             marker_color=SIGNAL_COLOURS[name], xaxis=f"x{suffix}", yaxis=f"y{suffix}"))
    st.plotly_chart(go.Figure(data=traces, layout=layout), config={"displayModeBar": False})


def change_library(change: Callable[[], object], done: str) -> None:
    """Run ``change`` on the library (a rename, a removal): its error shown, or the opened books forgotten,
    ``done`` noted for the next run and the page run again."""
    try:
        change()
    except BookQAError as error:
        show_error(error)
    else:
        resources.forget_books()
        state.notify(done)
        st.rerun()


def confidence_panel(book: Book, query: str, hits: Sequence[Hit]) -> None:
    """Whether the chat would answer ``query`` from ``hits``, and the book's calibration as a chart: where its own
    title questions and the off-topic questions score, the cut between them, and this query's best similarity."""
    verdict = views.verdict(book, query, hits, resources.settings())
    calibration = book.calibration
    label = "The chat would say the book does not cover this" if verdict.low else "The chat would answer this"
    with st.expander(f"{label} ({verdict.reason})", icon=":material/help:" if verdict.low else ":material/check_circle:"):
        if calibration is None:
            st.caption("This book has no low-confidence calibration (it was built by an older BookQA): rebuild it.")
            return
        language = {"zh": "Chinese", "en": "English"}
        own, other = language[calibration.language], language["en" if calibration.language == "zh" else "zh"]
        st.caption(
            f"Calibrated on {calibration.questions[0]} questions made from the book's section titles and "
            f"{calibration.questions[1]} off-topic questions in Chinese and English: {escape_markdown(calibration.note)}. "
            + (f"Cut {calibration.same:.3f} for questions in {own}, {calibration.cross:.3f} in {other}."
               if calibration.same is not None and calibration.cross is not None else "")
        )
        boxes = [
            (f"in-book ({own})", calibration.in_book, SIGNAL_COLOURS["dense"]),
            (f"off-topic ({own})", calibration.off_topic, "#6b7280"),
            (f"off-topic ({other})", calibration.off_topic_cross, "#9ca3af"),
        ]
        traces = [
            go.Box(name=name, orientation="h", lowerfence=[q[0]], q1=[q[1]], median=[q[2]], q3=[q[3]], upperfence=[q[4]],
                   marker_color=colour, y=[name], hoverinfo="skip")
            for name, q, colour in boxes if len(q) == 5
        ]
        shapes = [{"type": "line", "x0": cut, "x1": cut, "yref": "paper", "y0": 0, "y1": 1, "line": {"dash": dash, "color": PRIMARY}}
                  for cut, dash in ((calibration.same, "solid"), (calibration.cross, "dot")) if cut is not None]
        if verdict.top_dense is not None:
            traces.append(go.Scatter(x=[verdict.top_dense], y=[boxes[0][0]], mode="markers", name="this query",
                                     marker={"symbol": "diamond", "size": 12, "color": PRIMARY}))
        layout = {"height": 220, "margin": dict(l=10, r=10, t=10, b=10), "showlegend": False, "shapes": shapes,
                  "xaxis": {"title": {"text": "best dense similarity (solid: the cut, dotted: across languages)"}}}
        st.plotly_chart(go.Figure(data=traces, layout=layout), config={"displayModeBar": False})


def book_facts(book: Book) -> None:
    """The book at a glance: title, source, counts, what was left out of the index, passages per chapter."""
    manifest = book.manifest
    st.header(escape_markdown(manifest.title), anchor=False)
    st.caption(f"{escape_markdown(manifest.source_name)} · book id `{manifest.book_id}` · sha256 {manifest.sha256[:12]}…")
    left_out = views.left_out_summary(manifest)
    columns = st.columns(6)
    columns[0].metric("Pages", manifest.page_count)
    columns[1].metric("Sections", manifest.sections)
    columns[2].metric("Passages", manifest.chunks, help=f"{manifest.code_chunks} of them code")
    columns[3].metric("Pages left out", len(manifest.left_out),
                      help=", ".join(f"{reason}: {n}" for reason, n in left_out.items()) or "none")
    columns[4].metric("Index size", file_size(manifest.index_bytes))
    columns[5].metric("Build time", f"{manifest.timings.get('total', 0):.1f} s" if manifest.vectors_ready else "…",
                      help=None if manifest.vectors_ready else "The vectors are still being computed")
    if not manifest.vectors_ready:
        vector_progress(manifest, "overview", time.monotonic())
    if book.ocr_pages:
        st.caption(f"{len(book.ocr_pages)} page{'s' * (len(book.ocr_pages) > 1)} without a text layer read by OCR "
                   f"({manifest.timings.get('ocr', 0):.0f} s).")
    caption = views.left_out_caption(manifest)
    if caption:
        st.caption(escape_markdown(caption))
    st.subheader("Passages per chapter", anchor=False)
    chapter_chart(book)


def rank_chart(first: Sequence[Hit], second: Sequence[Hit], modes: tuple[str, str], book: Book) -> None:
    """Where each passage ranks in two retrieval modes: one line per passage from its rank in one mode to its
    rank in the other (at the bottom, "not found", when a mode did not return it)."""
    pairs = views.rank_pairs(first, second)
    missing = max(len(first), len(second)) + 1
    traces = [
        go.Scatter(
            x=list(modes), y=[pair["ranks"][0] or missing, pair["ranks"][1] or missing], mode="lines+markers",
            name=f"p.{book.label(pair['page'])} {pair['section']}", hovertemplate="%{x}: rank %{y}<extra>%{fullData.name}</extra>",
        )
        for pair in pairs
    ]
    yaxis = {"autorange": "reversed", "tickvals": [*range(1, missing), missing],
             "ticktext": [*map(str, range(1, missing)), "not found"], "title": {"text": "rank"}}
    layout = {"height": 300, "margin": dict(l=10, r=10, t=10, b=10), "yaxis": yaxis, "legend": {"font": {"size": 11}}}
    st.plotly_chart(go.Figure(data=traces, layout=layout), config={"displayModeBar": False})


def chapter_chart(book: Book) -> None:
    """Passages per chapter as a horizontal bar chart (book order, top to bottom)."""
    counts = views.chapter_counts(book)
    if not counts:
        st.caption("This book has no chapters in its outline.")
        return
    bars = go.Bar(
        x=[c["chunks"] for c in counts], y=[c["chapter"] for c in counts], orientation="h", marker_color=PRIMARY,
        customdata=[c["pages"] for c in counts], hovertemplate="%{y}: %{x} passages, %{customdata} pages<extra></extra>",
    )
    xaxis = {"title": {"text": "passages"}, **({"dtick": 1} if max(c["chunks"] for c in counts) < 10 else {})}
    layout = {"height": max(220, 26 * len(counts) + 80), "margin": dict(l=10, r=10, t=10, b=10),
              "yaxis": {"autorange": "reversed"}, "xaxis": xaxis}
    st.plotly_chart(go.Figure(data=[bars], layout=layout), config={"displayModeBar": False})


# ------------------------------------------------------------------------------------------------ pages
def page_image(book: Book, number: int, highlight: Sequence[str] = ()) -> None:
    """Physical page ``number`` of ``book`` rendered at a readable zoom, ``highlight`` passages marked (on the
    recognised lines of a page read by OCR, whose lines below the confidence floor are listed under it)."""
    floor = resources.settings().ocr_min_confidence
    lines, poor = views.ocr_lines(book, number, floor)
    png = resources.page_png(str(book.pdf_path), number, PAGE_ZOOM, tuple(highlight), lines)
    how = " · read by OCR" if lines is not None else ""
    st.image(png, caption=f"Page {book.label(number)} ({number} of {len(book.pages)}){how}", width="stretch")
    if poor:
        with st.expander(f"{len(poor)} line{'s' * (len(poor) > 1)} recognised below the confidence floor "
                         f"({floor:g}), left out of the index", icon=":material/report:"):
            for text, confidence in poor:
                st.markdown(f":orange[{confidence:.2f}] {escape_markdown(text)}")
