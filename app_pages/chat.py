"""Chat: ask the selected book; the answer streams, with its sources, each opening its page."""

import streamlit as st

from bookqa.answering.conversation import Exchange, history, to_markdown
from bookqa.answering.turn import ask
from bookqa.errors import BookQAError
from bookqa.text import escape_markdown
from bookqa.ui import components, resources, state, study

book = components.current_book()
exchanges = state.conversation(book.book_id)
answerer, problem = resources.backend()

st.title("Chat", anchor=False)
scope_column, clear_column, export_column = st.columns([4, 1, 1], vertical_alignment="bottom")
with scope_column:
    scope, scope_label = components.scope_picker(book)
scope_section = next((s for s in book.outline if s.display_title == scope_label), None)
components.keyword_only_note(book)
if problem:
    components.show_error(problem)
    st.caption("Until this is fixed, answers quote the book's most relevant sentences (no language model).")

for position, item in enumerate(exchanges, start=1):
    components.exchange(item, book, latest=position == len(exchanges))

question = st.chat_input(f"Ask about {book.manifest.title}…")
if question and question.strip():
    state.remember_question(question)
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
        if scope_label:
            st.caption(f"in {escape_markdown(scope_label)}")
    with st.chat_message("assistant"):
        turn = None
        try:
            turn = ask(question, retriever=book.retriever, backend=answerer, settings=resources.settings(),
                       history=history(exchanges), scope=scope, pages=book.pages, calibration=book.calibration)
            st.write_stream(turn)
            answer = turn.result()
        except BookQAError as error:
            components.show_error(error)
            if turn is not None and turn.hits:  # the model failed, the search did not: the passages still help
                with st.expander(f"Passages found ({len(turn.hits)})", expanded=True):
                    components.source_list(turn.hits, book)
            exchanges.append(Exchange(question, error=str(error), scope=scope_label))
        else:
            components.answer_details(answer, book)
            exchanges.append(Exchange(question, answer, scope=scope_label))
            study.note_question(book, state.profile(), answer.hits[0].chunk.section_number if answer.hits else None,
                                scope_section)
            state.remember_question(answer.rewritten_query or question)  # what the inspector should search

# drawn last, into the toolbar at the top, so that they include the answer just given
clear_column.button("Clear", icon=":material/delete_sweep:", on_click=state.clear_conversation, args=(book.book_id,),
                    disabled=not exchanges, width="stretch")
export_column.download_button(
    "Export", to_markdown(book.manifest.title, exchanges, book.label), file_name=f"{book.book_id}-chat.md",
    mime="text/markdown", icon=":material/download:", on_click="ignore", disabled=not exchanges, width="stretch",
)
