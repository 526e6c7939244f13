"""ALMEA Annotator: Streamlit router over pages/ (nothing else lives here)."""
import streamlit as st

st.set_page_config(page_title="ALMEA Annotator", layout="wide")
navigation = st.navigation([
    st.Page("pages/label.py", title="Label", icon=":material/fact_check:", default=True),
    st.Page("pages/projects.py", title="Projects", icon=":material/folder_open:"),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/hub:"),
    st.Page("pages/insights.py", title="Insights", icon=":material/insights:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
])
navigation.run()
