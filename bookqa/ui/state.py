"""What one browser session keeps: the selected book, a conversation per book, the last question, the
chapter browser's page and each book's search scope. Only these keys of ``st.session_state`` are used, so
sessions never see each other's state.
"""

from __future__ import annotations

import streamlit as st

from bookqa.answering.conversation import Exchange
from bookqa.errors import BookQAError

BOOK = "book"
"""The sidebar's book picker (a book id)."""
PAGE = "page"
"""The chapter browser's page number (its widget key, and the ``?page=`` query parameter that mirrors it)."""
PASSAGE = "passage"
"""The ``?passage=`` query parameter: the id of the source a chat link followed, highlighted on its page."""
_PENDING_BOOK = "_pending_book"
_CONVERSATIONS = "_conversations"
_LAST_QUESTION = "_last_question"
_UPLOAD_ROUND = "_upload_round"
_UPLOAD_ERROR = "_upload_error"
_SCAN_CONFIRMED = "_scan_confirmed"
_NOTICE = "_notice"


def scope_key(book_id: str) -> str:
    """The widget key of a book's scope picker (shared by the chat and the inspector)."""
    return f"scope:{book_id}"


def selected_book_id() -> str | None:
    return st.session_state.get(BOOK)


def select_book(book_id: str) -> None:
    """Select ``book_id`` on the next run (the picker may already be drawn in this one)."""
    st.session_state[_PENDING_BOOK] = book_id


def settle_book(book_ids: list[str]) -> None:
    """Before the picker is drawn: apply a pending selection, and fall back to the first book when the
    selected one is gone. A book changed from another one starts the chapter browser on its first page; the
    first choice of a session keeps the page a link asked for (``?page=``)."""
    previous = st.session_state.get(BOOK)
    wanted = st.session_state.pop(_PENDING_BOOK, None) or previous
    wanted = wanted if wanted in book_ids else (book_ids[0] if book_ids else None)
    if wanted != previous:
        st.session_state[BOOK] = wanted
        if previous is not None:
            book_changed()


def book_changed() -> None:
    st.session_state[PAGE] = 1
    st.query_params.pop(PAGE, None)


def conversation(book_id: str) -> list[Exchange]:
    """This session's conversation about ``book_id`` (a list it may append to)."""
    return st.session_state.setdefault(_CONVERSATIONS, {}).setdefault(book_id, [])


def clear_conversation(book_id: str) -> None:
    st.session_state.setdefault(_CONVERSATIONS, {})[book_id] = []


def last_question() -> str:
    return st.session_state.get(_LAST_QUESTION, "")


def remember_question(question: str) -> None:
    st.session_state[_LAST_QUESTION] = question


def set_scope(book_id: str, position: int) -> None:
    """Limit the chat's and the inspector's searches in ``book_id`` to its ``position``-th scope choice
    (:func:`bookqa.views.scope_choices`; 0 is the whole book)."""
    st.session_state[scope_key(book_id)] = position


def show_page(number: int) -> None:
    """Open the chapter browser's ``number`` page (a widget callback); the URL's ``?page=`` follows."""
    st.session_state[PAGE] = number
    st.query_params[PAGE] = str(number)
    st.query_params.pop(PASSAGE, None)


def page_typed() -> None:
    """The page number was typed in: let the URL's ``?page=`` follow (a widget callback)."""
    st.query_params[PAGE] = str(st.session_state[PAGE])
    st.query_params.pop(PASSAGE, None)


def followed_passage() -> str:
    """The id of the source whose link opened this page ("" when none)."""
    return st.query_params.get(PASSAGE, "")


def follow_page_link(last: int) -> None:
    """Open the page a link asked for (``?page=N``, 1 <= N <= ``last``) when it is not the page shown; a
    remembered page outside ``1..last`` becomes 1."""
    if not 1 <= st.session_state.get(PAGE, 1) <= last:
        st.session_state[PAGE] = 1
    requested = st.query_params.get(PAGE, "")
    if requested.isdigit() and 1 <= int(requested) <= last and int(requested) != st.session_state.get(PAGE):
        st.session_state[PAGE] = int(requested)


def upload_round() -> int:
    """A counter in the upload widget's key; bumping it empties the widget after an upload was handled."""
    return st.session_state.get(_UPLOAD_ROUND, 0)


def next_upload_round() -> None:
    st.session_state[_UPLOAD_ROUND] = upload_round() + 1


def confirm_scan() -> None:
    """The user said to read the current upload by OCR however long it takes."""
    st.session_state[_SCAN_CONFIRMED] = upload_round()


def scan_confirmed() -> bool:
    return st.session_state.get(_SCAN_CONFIRMED) == upload_round()


def keep_upload_error(error: BookQAError) -> None:
    """Show why an upload failed on the next run, under the emptied uploader."""
    st.session_state[_UPLOAD_ERROR] = error


def take_upload_error() -> BookQAError | None:
    return st.session_state.pop(_UPLOAD_ERROR, None)


def notify(text: str) -> None:
    """Show ``text`` (a success) once, on the next run."""
    st.session_state[_NOTICE] = text


def take_notice() -> str | None:
    return st.session_state.pop(_NOTICE, None)
