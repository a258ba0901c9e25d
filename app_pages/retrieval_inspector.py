"""Retrieval inspector: what the search finds for a query, with every signal's score, and where it is."""

import streamlit as st

from bookqa.types import RetrievalMode
from bookqa.ui import components, resources, state

book = components.current_book()
st.title("Retrieval inspector", anchor=False)
query = st.text_input("Query", value=state.last_question(), placeholder="A question or a few words",
                      help="Prefilled with your last chat question")
k_column, mode_column, compare_column, scope_column = st.columns([1, 2, 2, 3], vertical_alignment="bottom")
k = k_column.number_input("Passages (k)", min_value=1, max_value=30, value=resources.settings().top_k)
modes = RetrievalMode.values()
mode = mode_column.segmented_control("Mode", modes, default=str(resources.settings().retrieval_mode), required=True)
other = compare_column.selectbox("Compare with", [None, *modes], format_func=lambda m: m or "—")
with scope_column:
    scope, _ = components.scope_picker(book)

components.keyword_only_note(book)
if not query.strip():
    st.info("Type a query, or ask something in the chat first.", icon=":material/search:")
    st.stop()

hits = resources.search(book, query, k, mode, scope)
if not hits:
    st.warning("Nothing found in this scope. Try other words or the whole book.", icon=":material/search_off:")
    st.stop()

if other:
    others = resources.search(book, query, k, other, scope)
    left, right = st.columns(2)
    left.subheader(mode, anchor=False)
    right.subheader(other, anchor=False)
    with right:
        components.hits_table(others, book, key=f"compare-{other}", selectable=False)
    with left:
        row = components.hits_table(hits, book, key=f"table-{mode}")
    components.rank_chart(hits, others, (mode, other), book)
else:
    row = components.hits_table(hits, book, key=f"table-{mode}")
components.score_chart(hits)
components.confidence_panel(book, query, hits)
components.hit_detail(hits[row or 0], book, query)
if row is None:
    st.caption("Select a row of the table to inspect another passage.")
