"""Study: a chapter or section's study sheet, a self-test whose answer keys are checked on their pages, the cards due
for review, and progress per chapter; all of it kept per profile (the sidebar's name)."""

import streamlit as st

from bookqa.ui import components, resources, state, study

book = components.current_book()
guide = resources.study_guide(book)
profile = state.profile()
st.title("Study", anchor=False)
section = study.section_picker(book)
sheet_tab, test_tab, cards_tab, progress_tab = st.tabs(["Study sheet", "Self-test", "Cards", "Progress"], key="study-tab",
                                                      on_change="rerun")  # the tab shown survives a rerun
with sheet_tab:
    with st.spinner("Reading the section…"):
        study.sheet(guide.sheet(section), book, guide, profile)
with test_tab:
    study.self_test(guide, section, profile)
with cards_tab:
    study.card_review(resources.progress(), guide, section, profile)
with progress_tab:
    study.progress_chart(resources.progress().sections(profile, book.book_id, book.outline), guide.chapter(section),
                         book.outline)
