"""Overview: the selected book at a glance, its passages per chapter, and the library (rebuild, remove)."""

import streamlit as st

from bookqa import views
from bookqa.errors import BookQAError
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
        from bookqa import sample  # PyMuPDF (slow to import) only when the sample is made

        added = components.build_book(
            "the sample book",
            lambda progress: sample.add_sample(library, embedder=resources.embedder(), progress=progress),
        )
        if added:
            state.select_book(added.book_id)
            st.rerun()
    st.stop()

book = components.current_book(searchable=False)
manifest = book.manifest
st.header(components.escape(manifest.title), anchor=False)
st.caption(f"{components.escape(manifest.source_name)} · book id `{manifest.book_id}` · sha256 {manifest.sha256[:12]}…")
left_out = views.left_out_summary(manifest)
columns = st.columns(6)
columns[0].metric("Pages", manifest.page_count)
columns[1].metric("Sections", manifest.sections)
columns[2].metric("Passages", manifest.chunks, help=f"{manifest.code_chunks} of them code")
columns[3].metric("Pages left out", len(manifest.left_out),
                  help=", ".join(f"{reason}: {n}" for reason, n in left_out.items()) or "none")
columns[4].metric("Index size", components.file_size(manifest.index_bytes))
columns[5].metric("Build time", f"{manifest.timings.get('total', 0):.1f} s")
if left_out:
    st.caption("Left out of the index: " + ", ".join(f"{n} {reason} page{'s' * (n > 1)}" for reason, n in left_out.items()))

st.subheader("Passages per chapter", anchor=False)
components.chapter_chart(book)

st.subheader("Library", anchor=False)
for item in manifests:
    with st.container(border=True):
        info, rebuild, remove = st.columns([4, 1, 1], vertical_alignment="center")
        info.markdown(f"**{components.escape(item.title)}**  \n{item.page_count} pages · {item.chunks} passages · "
                      f"{item.embedding_model} · built {components.escape(item.built_at[:16].replace('T', ' '))}")
        if rebuild.button("Rebuild", key=f"rebuild-{item.book_id}", icon=":material/refresh:", width="stretch"):
            if components.build_book(item.title, lambda progress: library.rebuild(
                    item.book_id, embedder=resources.embedder(), progress=progress)):
                st.rerun()
        with remove.popover("Remove", icon=":material/delete:", width="stretch"):
            st.write(f"Remove {components.escape(item.title)} and its index? The PDF file itself is not touched.")
            if st.button("Remove for good", key=f"remove-{item.book_id}", type="primary"):
                try:
                    library.remove(item.book_id)
                except BookQAError as error:
                    components.show_error(error)
                else:
                    resources.forget_books()
                    state.notify(f"Removed {item.title}.")
                    st.rerun()
