"""Chapter browser: the outline as a tree, a page as an image with its text, pages cited in the chat marked; "ask
about" and "study" the section shown; each page shown counts as viewed in the profile's progress.

``?page=N`` (a physical page number) opens page N, and ``&passage=ID`` marks that passage on it; the chat's
sources link here that way. The page picker shows and finds pages by their printed numbers.
"""

import streamlit as st

from bookqa.answering.conversation import cited_pages
from bookqa.text import escape_markdown
from bookqa.ui import components, resources, state
from bookqa.ui.views import outline_tree, passage_chunks, scope_choices, section_to_ask, study_choices

book = components.current_book(searchable=False)
exchanges = state.conversation(book.book_id)
cited = cited_pages(exchanges)
last = len(book.pages)
st.title("Chapter browser", anchor=False)
state.follow_page_link(last)

tree, reader = st.columns([1, 3], gap="large")
with reader:
    back, number, forward = st.columns([1, 2, 1], vertical_alignment="bottom")
    page = number.selectbox("Page", range(1, last + 1), format_func=book.label, key=state.PAGE,
                            on_change=state.page_typed, persist_state="session",
                            help="The printed page number; type it to find the page")
    back.button("Previous", icon=":material/chevron_left:", on_click=state.show_page, args=(page - 1,),
                disabled=page <= 1, width="stretch")
    forward.button("Next", icon=":material/chevron_right:", on_click=state.show_page, args=(page + 1,),
                   disabled=page >= last, width="stretch")
    shown = passage_chunks(book, state.followed_passage(), page)
    section = section_to_ask(book.outline, page, shown)
    if page in cited:
        st.badge("Cited in your chat", icon=":material/bookmark:", color="orange")
    if section is not None and st.button(f"Ask about {escape_markdown(section.display_title)}",
                                         icon=":material/forum:"):
        state.set_scope(book.book_id, scope_choices(book.outline).index(section))
        st.switch_page(components.CHAT)
    if section is not None and st.button(f"Study {escape_markdown(section.display_title)}", icon=":material/school:"):
        state.study_section(book.book_id, study_choices(book.outline).index(section))
        st.switch_page(components.STUDY)
    resources.progress().record_page(state.profile(), book.book_id, page)
    components.page_image(book, page, highlight=[chunk.text for chunk in shown])
    with st.expander("Text of this page"):
        st.text(book.page(page).text or "(no text on this page)")

with tree:
    st.subheader("Contents", anchor=False)
    if cited:
        st.caption("Cited in your chat: " + ", ".join(f"p.{book.label(n)}" for n in sorted(cited)))
    with st.container(height=640, border=False):
        for index, (chapter, sections) in enumerate(outline_tree(book.outline)):
            with st.expander(escape_markdown(chapter.display_title), key=f"chapter-{book.book_id}-{index}",
                             expanded=chapter.start_page <= page <= chapter.end_page, on_change="rerun") as box:
                for position, entry in enumerate([chapter, *sections] if box.open else []):  # drawn when open
                    st.button(escape_markdown(entry.display_title), key=f"toc-{index}-{position}",
                              type="primary" if entry == section else "tertiary",
                              icon=":material/bookmark:" if any(entry.start_page <= n <= entry.end_page for n in cited)
                              else None,
                              on_click=state.show_page, args=(entry.start_page,))
