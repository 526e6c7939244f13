"""ALMEA Annotator: Streamlit router over pages/ (nothing else lives here)."""
import streamlit as st

LABEL = st.Page("pages/label.py", title="Label", icon=":material/fact_check:")


def home() -> None:
    """The root URL opens the Label page at its own address (/label), query kept, so that
    a bookmark of either address works."""
    st.switch_page(LABEL, query_params=st.query_params.to_dict())


st.set_page_config(page_title="ALMEA Annotator", layout="wide")
navigation = st.navigation([
    st.Page(home, title="Home", default=True, visibility="hidden"),
    LABEL,
    st.Page("pages/projects.py", title="Projects", icon=":material/folder_open:"),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/hub:"),
    st.Page("pages/insights.py", title="Insights", icon=":material/insights:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
])
navigation.run()
