# The project a page works on, kept in the URL (?project=NAME) so that reloads, page
# changes, bookmarks and two tabs on two projects each stay where they are. Not a page:
# app.py lists the pages, this module is imported by them.
import streamlit as st

from annotate.service import projects_dir

KEY = "project"
DEMO = "demo"


def remembered() -> str | None:
    """The project in the URL, else the one this session last worked on."""
    return st.query_params.get(KEY) or st.session_state.get(KEY)


def remember(name: str) -> None:
    """Keep ``name`` in the URL and the session (a page change may drop the URL's parameters)."""
    st.session_state[KEY] = name
    st.query_params[KEY] = name


def chosen_project(projects: list[str]) -> str:
    """The project named in the URL, else the one this session last worked on, else the demo
    or the only project; otherwise (and for an unknown name, said so) the page asks and
    stops. The choice is written back to the URL; nothing switches project silently."""
    asked = remembered()
    if asked is not None and asked not in projects:
        st.error(f"There is no project named “{asked}” in `{projects_dir()}`: choose one in the sidebar.")
    elif asked is None:
        asked = DEMO if DEMO in projects else (projects[0] if len(projects) == 1 else None)
    index = projects.index(asked) if asked in projects else None
    name = st.sidebar.selectbox("Project", projects, index=index, placeholder="Choose a project")
    if name is None:
        st.info("Choose the project to work on in the sidebar.")
        st.stop()
    remember(name)
    return name
