"""BookQA's entry point: page config, the shared sidebar (book picker, upload, profile, status), navigation."""

import streamlit as st

from bookqa.errors import BookQAError
from bookqa.ui import components, resources, study

st.set_page_config(page_title="BookQA", page_icon=components.ICON, layout="wide")
navigation = st.navigation([
    st.Page(components.OVERVIEW, title="Overview", icon=":material/dashboard:", default=True),
    st.Page(components.CHAT, title="Chat", icon=":material/forum:"),
    st.Page(components.INSPECTOR, title="Retrieval inspector", icon=":material/manage_search:"),
    st.Page(components.BROWSER, title="Chapter browser", icon=":material/auto_stories:"),
    st.Page(components.STUDY, title="Study", icon=":material/school:"),
])

with st.sidebar:
    try:
        manifest = components.book_picker(resources.library().manifests())
    except BookQAError as error:  # an unusable BOOKQA_* setting
        components.show_error(error)
        st.stop()
    components.upload_box()
    study.profile_box()
    components.status_lines(manifest)
components.notice()
navigation.run()
