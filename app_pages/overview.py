"""Overview: the selected book at a glance, its passages per chapter, and the library (rename, rebuild, remove)."""

import streamlit as st

from bookqa.text import escape_markdown
from bookqa.ui import components, resources, state, study

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
    study.progress_line(book, state.profile())

st.subheader("Library", anchor=False)
for item in manifests:
    with st.container(border=True):
        info, rename, rebuild, remove = st.columns([4, 1, 1, 1], vertical_alignment="center")
        state_text = "" if item.vectors_ready else f" · {escape_markdown(item.vector_state())}"
        info.markdown(f"**{escape_markdown(item.title)}**  \n{item.page_count} pages · {item.chunks} passages · "
                      f"{item.embedding_model} · built {escape_markdown(item.built_at[:16].replace('T', ' '))}{state_text}")
        with rename.popover("Rename", icon=":material/edit:", width="stretch"):
            name = st.text_input("Name", value=item.title, key=f"name-{item.book_id}")
            if st.button("Save the name", key=f"rename-{item.book_id}", type="primary"):
                components.change_library(lambda: library.rename(item.book_id, name), f"Renamed to {name.strip()}.")
        if rebuild.button("Rebuild", key=f"rebuild-{item.book_id}", icon=":material/refresh:", width="stretch"):
            if components.build_book(item.title, lambda progress: library.rebuild(
                    item.book_id, progress=progress, vectors=False)):
                st.rerun()
        with remove.popover("Remove", icon=":material/delete:", width="stretch"):
            st.write(f"Remove {escape_markdown(item.title)} and its index? The PDF file itself is not touched.")
            forget = st.checkbox("Also delete the study progress in this book (every profile's)", key=f"forget-{item.book_id}",
                                 help="Kept unless ticked: adding the same book again brings the progress back.")
            if st.button("Remove for good", key=f"remove-{item.book_id}", type="primary"):
                def remove_book() -> None:
                    library.remove(item.book_id)
                    if forget:
                        resources.progress().forget_book(item.book_id)

                components.change_library(remove_book, f"Removed {item.title}.")
