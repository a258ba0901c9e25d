"""The pieces of studying in the app: the sidebar's profile box, the Study page's section picker, study sheet,
self-test, card review, deck downloads and progress chart, and the overview's progress line. Book text is always
escaped."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Sequence

import plotly.graph_objects as go
import streamlit as st

from bookqa.library.book import Book
from bookqa.study.decks import deck_bytes
from bookqa.study.progress import MAX_PROFILE_CHARS, section_key
from bookqa.text import escape_markdown
from bookqa.types import Section
from bookqa.ui import components, resources, state, views

if TYPE_CHECKING:
    from bookqa.study.guide import StudyGuide
    from bookqa.study.progress import ProgressStore, SectionProgress
    from bookqa.study.quiz import Item
    from bookqa.study.sheet import StudySheet

QUIZ_ITEMS = 8
CHART_COLOURS = {"pages": "#2563eb", "test": components.PRIMARY, "cards": "#15803d"}
CHART_NAMES = {"pages": "pages viewed", "test": "best self-test", "cards": "cards learned"}
RATINGS = (("again", "Again"), ("hard", "Hard"), ("good", "Good"), ("easy", "Easy"))


# ------------------------------------------------------------------------------------------------ sidebar, overview
def profile_box() -> str:
    """The sidebar's profile name; returns the profile this session studies as."""
    st.text_input("Profile", value="me", key=state.PROFILE, max_chars=MAX_PROFILE_CHARS,
                  help="Your study progress is kept under this name. Others on this server use their own and never see yours.")
    return state.profile()


def progress_line(book: Book, profile: str) -> None:
    """The book's progress for ``profile`` in one line (the overview)."""
    p = resources.progress().book(profile, book.book_id, book.outline, book.manifest.page_count)
    st.caption(
        f":material/school: Progress of **{escape_markdown(profile)}**: {p.pages_viewed} of {p.pages} pages viewed · "
        f"{p.sections_tested} of {p.sections} sections self-tested ({p.tests} tests) · {p.cards} cards, {p.learned} learned, "
        f"{p.due} due today · {p.questions} questions asked"
    )


def note_question(book: Book, profile: str, section_number: str | None, scope: Section | None) -> None:
    """Count a chat question for the section it was asked about: the scope's, else that of the best source."""
    section = scope or views.scope_section(book.outline, section_number)
    if section is not None:
        resources.progress().record_question(profile, book.book_id, section_key(section))


# ------------------------------------------------------------------------------------------------ the Study page
def section_picker(book: Book) -> Section:
    """The chapter or section to study (the chapter browser's "Study this section" opens it here)."""
    choices = views.study_choices(book.outline)
    position = st.selectbox("Chapter or section", range(len(choices)), key=state.study_key(book.book_id),
                            format_func=lambda i: views.scope_label(choices[i]), persist_state="session")
    return choices[position or 0]


def sheet(content: StudySheet, book: Book, guide: StudyGuide, profile: str) -> None:
    """A study sheet: key points, key terms (with a button adding them to the profile's cards), exercises with hints,
    figures and tables; each entry with a link to its page."""
    st.subheader("Key points", anchor=False)
    if content.key_points and not content.key_points[0].summary:
        st.caption("This section has no summary of its own: these are its most central sentences.")
    for point in content.key_points:
        _with_page(book, point.page, f"- {escape_markdown(point.text)}")
    if not content.key_points:
        st.caption("None found.")
    st.subheader(f"Key terms ({len(content.terms)})", anchor=False)
    for term in content.terms:
        english = f" ({escape_markdown(term.english)})" if term.english else ""
        _with_page(book, term.page, f"**{escape_markdown(term.term)}**{english}: {escape_markdown(term.sentence.text)}")
    if content.terms:
        cards = guide.cards(content.section)
        if st.button(f"Add these {len(cards)} terms to my cards", icon=":material/style:", key="add-term-cards"):
            added = resources.progress().add_cards(profile, book.book_id, cards)
            st.toast(f"{added} new cards" if added else "They are all among your cards already.")
    else:
        st.caption("This section defines no terms the book marks as such.")
    st.subheader(f"Exercises ({len(content.exercises)})", anchor=False)
    for exercise in content.exercises:
        with st.expander(escape_markdown(exercise.text.split("\n")[0]), expanded=False):
            st.markdown(escape_markdown(exercise.text))
            st.caption(f"Page {escape_markdown(book.label(exercise.page))}")
            for hint in exercise.hints:
                st.page_link(components.BROWSER, label=f"Hint: p.{escape_markdown(book.label(hint.page))} · {escape_markdown(hint.section)}",
                             icon=":material/lightbulb:", query_params={state.PAGE: str(hint.page), state.PASSAGE: hint.passage})
                st.caption(escape_markdown(hint.excerpt))
    if not content.exercises:
        st.caption("This section has no exercises of its own.")
    if content.figures:
        st.subheader(f"Figures and tables ({len(content.figures)})", anchor=False)
        for figure in content.figures:
            st.page_link(components.BROWSER, label=f"{escape_markdown(figure.caption)} · p.{escape_markdown(book.label(figure.page))}",
                         icon=":material/table_chart:" if figure.table else ":material/image:",
                         query_params={state.PAGE: str(figure.page)})


def self_test(guide: StudyGuide, section: Section, profile: str) -> None:
    """A self-test on ``section``: the items in a form; once answered, the score, and per item the key with its
    evidence and a link to its page. Answers are graded, recorded for ``profile``, and items answered wrong become
    cards."""
    book = guide.book
    test = state.self_test(book.book_id, section_key(section))
    answerer, _ = resources.backend()
    new = st.button("New self-test", icon=":material/refresh:", key="new-test")
    if new or "items" not in test:
        test.update(items=guide.quiz(section, n=QUIZ_ITEMS, seed=random.randrange(1 << 30), backend=answerer), results=None)
    items: list[Item] = test["items"]
    if not items:
        st.info("This section defines no terms a self-test can ask about. Try its chapter, or another section.",
                icon=":material/quiz:")
        return
    if test["results"] is None:
        with st.form(f"self-test-{section_key(section)}"):
            answers = [_ask(item, position) for position, item in enumerate(items, start=1)]
            if st.form_submit_button("Check my answers", type="primary"):
                grades = [guide.grade(item, answer or "", backend=answerer) for item, answer in zip(items, answers)]
                store = resources.progress()
                store.record_test(profile, book.book_id, section_key(section), [(i.id, g.correct) for i, g in zip(items, grades)])
                store.add_cards(profile, book.book_id, [guide.missed(section, i) for i, g in zip(items, grades) if not g.correct])
                test["results"] = list(zip(answers, grades))
                st.rerun()
        return
    results = test["results"]
    right = sum(grade.correct for _, grade in results)
    st.metric("Score", f"{right} of {len(items)}", help="Items answered wrong were added to your cards")
    for position, (item, (answer, grade)) in enumerate(zip(items, results), start=1):
        with st.container(border=True):
            icon = ":green[:material/check_circle:]" if grade.correct else ":red[:material/cancel:]"
            st.markdown(f"{icon} **{position}.** {escape_markdown(item.question)}")
            st.caption(f"Your answer: {escape_markdown(answer or '—')} · the answer: **{escape_markdown(item.answer)}**")
            st.markdown(f"> {escape_markdown(item.evidence)}")
            passage = views.passage_with(book, item.evidence, item.page)
            query = {state.PAGE: str(item.page), **({state.PASSAGE: passage.id} if passage else {})}
            st.page_link(components.BROWSER, label=f"p.{escape_markdown(book.label(item.page))} · {escape_markdown(item.section)}",
                         icon=":material/menu_book:", query_params=query)
    st.button("Take it again", icon=":material/replay:", key="retake", on_click=test.update, kwargs={"results": None})


def _ask(item: Item, position: int) -> str | None:
    """One item in the form: its options as a radio, or a text box."""
    label = f"{position}. {escape_markdown(item.question)}"
    if item.options:
        return st.radio(label, item.options, index=None, key=f"answer-{item.id}")
    return st.text_input(label, key=f"answer-{item.id}", placeholder="Your answer")


def card_review(store: ProgressStore, guide: StudyGuide, section: Section, profile: str) -> None:
    """The profile's cards due now, one at a time (front; then the back and Again / Hard / Good / Easy), with counts,
    and the section's cards as an Anki deck or CSV."""
    book = guide.book
    cards = store.cards(profile, book.book_id)
    due = store.due(profile, book.book_id)
    today = sum(card.due <= _end_of_today() for card in cards)
    columns = st.columns(4)
    columns[0].metric("Due now", len(due))
    columns[1].metric("Due today", today)
    columns[2].metric("Cards", len(cards))
    columns[3].metric("Learned", sum(card.learned for card in cards))
    if due:
        card = due[0].card
        with st.container(border=True):
            st.caption(f"From {escape_markdown(card.section)} · {len(due)} due now")
            st.markdown(escape_markdown(card.front))
            if state.shown_card() != card.id:
                st.button("Show the answer", key="show-answer", on_click=state.show_card, args=(card.id,))
            else:
                st.divider()
                st.markdown(escape_markdown(card.back))
                st.page_link(components.BROWSER, label=f"p.{escape_markdown(card.page_label)}", icon=":material/menu_book:",
                             query_params={state.PAGE: str(card.page)})
                for column, (rating, label) in zip(st.columns(4), RATINGS):
                    column.button(label, key=f"rate-{rating}", width="stretch", on_click=_review,
                                  args=(store, profile, book.book_id, card.id, rating))
    elif cards:
        st.success("Nothing is due now.", icon=":material/done_all:")
    else:
        st.info("No cards yet: add a section's key terms from its study sheet; items you answer wrong in a self-test "
                "become cards too.", icon=":material/style:")
    mine = [c.card for c in store.cards(profile, book.book_id, sections=[section_key(s) for s in guide.members(section)])]
    deck = list({card.id: card for card in [*guide.cards(section), *mine]}.values())
    name = f"{book.manifest.title}::{section.display_title}"
    left, right = st.columns(2)
    left.download_button(f"Anki deck of {section.number or 'this section'} ({len(deck)} cards)", lambda: deck_bytes(deck, ".apkg", name),
                         file_name=f"{book.book_id}-{section_key(section)}.apkg", mime="application/octet-stream",
                         icon=":material/download:", on_click="ignore", disabled=not deck, key="deck-apkg")
    right.download_button("CSV", lambda: deck_bytes(deck, ".csv", name), file_name=f"{book.book_id}-{section_key(section)}.csv",
                          mime="text/csv", icon=":material/download:", on_click="ignore", disabled=not deck, key="deck-csv")


def _review(store: ProgressStore, profile: str, book_id: str, card_id: str, rating: str) -> None:
    store.review(profile, book_id, card_id, rating)
    state.show_card(None)


def _end_of_today():
    from bookqa.study.progress import end_of_day

    return end_of_day()


def progress_chart(progress: Sequence[SectionProgress], chapter: Section, outline: Sequence[Section]) -> None:
    """The profile's progress in ``chapter`` and each of its sections: pages viewed, best self-test and cards learned,
    as shares, one group of bars per section."""
    rows = views.progress_rows(progress, chapter, outline)
    counts = views.chapter_progress_counts(progress, chapter, outline)
    st.caption(f"{escape_markdown(chapter.display_title)} and its sections: {escape_markdown(counts)}" if counts else "")
    traces = [
        go.Bar(name=CHART_NAMES[measure], x=[r["section"] for r in rows], y=[r[measure] or 0 for r in rows],
               marker_color=CHART_COLOURS[measure], customdata=[[r["title"], r["counts"]] for r in rows],
               hovertemplate="%{customdata[0]}<br>" + CHART_NAMES[measure] + ": %{y}%<br>%{customdata[1]}<extra></extra>")
        for measure in ("pages", "test", "cards")
    ]
    layout = {"barmode": "group", "height": 320, "margin": dict(l=10, r=10, t=10, b=10), "legend": {"orientation": "h"},
              "yaxis": {"range": [0, 100], "title": {"text": "%"}}, "xaxis": {"type": "category"}}
    st.plotly_chart(go.Figure(data=traces, layout=layout), config={"displayModeBar": False}, key="progress-chart")


def _with_page(book: Book, page: int, markdown: str) -> None:
    """A line of the sheet with a link to its page in the chapter browser (by its printed label)."""
    text, link = st.columns([12, 1], vertical_alignment="center")
    text.markdown(markdown)
    link.page_link(components.BROWSER, label=f"p.{escape_markdown(book.label(page))}", query_params={state.PAGE: str(page)})
