# Deep links reach the router. Not a page: app.py lists the pages, which import this first.
#
# Streamlit decides per server process whether the app is an old-style pages/-folder app
# (class flag PagesManager.uses_pages_directory, True when a pages/ folder exists) and clears
# the flag only when st.navigation runs. When a fresh server's first visit is a deep link
# (/label?project=x), it runs pages/label.py directly instead of app.py, so st.navigation
# never runs, the flag stays, and every session of that process lists the pages/ folder's
# files in the sidebar. Clearing the flag the way st.navigation does and rerunning puts the
# router (app.py) in charge, at the same URL.
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


ROUTED = "routed"


def ensure_router() -> None:
    """Rerun through app.py when Streamlit ran this page as a pages/-folder page. Only a
    session's first run reruns: a later run may carry a click, which a rerun would drop."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state.get(ROUTED):
            st.session_state[ROUTED] = True
            st.rerun()
    st.session_state[ROUTED] = True
