"""Overview: the selected book at a glance, its passages per chapter, and the library (rebuild, remove)."""

import streamlit as st

from bookqa.errors import BookQAError
from bookqa.text import escape_markdown
from bookqa.ui import components, resources, state

library = resources.library()
manifests = library.manifests()
st.title("Overview")

if not manifests:
    st.markdown(
        "**The library is empty.** Add a textbook PDF with *Add a book* in the sidebar, or index one from a "
        "terminal with `python -m bookqa index BOOK.pdf`. To look around first, add the sample book: eight "
        "pages on linear regression, softmax, convolution, ResNet, DenseNet and attention, in Chinese and "
        "English. It takes a few seconds."
    )
    if st.button("Add the sample book", type="primary", icon=":material/library_add:"):
        from bookqa.library import sample  # PyMuPDF (slow to import) only when the sample is made

        added = components.build_book(
            "the sample book",
            lambda progress: sample.add_sample(library, progress=progress, vectors=False),
        )
        if added:
            state.select_book(added.book_id)
            st.rerun()
    st.stop()

selected = components.selected_manifest()
book = components.open_book(selected, searchable=False) if selected else None
if book is not None:  # else the error said why, and the library below offers the rebuild
    components.book_facts(book)

st.subheader("Library", anchor=False)
for item in manifests:
    with st.container(border=True):
        info, rebuild, remove = st.columns([4, 1, 1], vertical_alignment="center")
        state_text = "" if item.vectors_ready else f" · {escape_markdown(item.vector_state())}"
        info.markdown(f"**{escape_markdown(item.title)}**  \n{item.page_count} pages · {item.chunks} passages · "
                      f"{item.embedding_model} · built {escape_markdown(item.built_at[:16].replace('T', ' '))}{state_text}")
        if rebuild.button("Rebuild", key=f"rebuild-{item.book_id}", icon=":material/refresh:", width="stretch"):
            if components.build_book(item.title, lambda progress: library.rebuild(
                    item.book_id, progress=progress, vectors=False)):
                st.rerun()
        with remove.popover("Remove", icon=":material/delete:", width="stretch"):
            st.write(f"Remove {escape_markdown(item.title)} and its index? The PDF file itself is not touched.")
            if st.button("Remove for good", key=f"remove-{item.book_id}", type="primary"):
                try:
                    library.remove(item.book_id)
                except BookQAError as error:
                    components.show_error(error)
                else:
                    resources.forget_books()
                    state.notify(f"Removed {item.title}.")
                    st.rerun()
