"""ALMEA Annotator: Streamlit router over pages/ (nothing else lives here)."""
import streamlit as st

from pages.auth import sign_in

LABEL = st.Page("pages/label.py", title="Label", icon=":material/fact_check:")


def home() -> None:
    """The root URL opens the Label page at its own address (/label), query kept, so that
    a bookmark of either address works."""
    st.switch_page(LABEL, query_params=st.query_params.to_dict())


st.set_page_config(page_title="ALMEA Annotator", layout="wide")
everyone = [
    st.Page(home, title="Home", default=True, visibility="hidden"),
    LABEL,
    st.Page("pages/projects.py", title="Projects", icon=":material/folder_open:"),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/hub:"),
    st.Page("pages/insights.py", title="Insights", icon=":material/insights:"),
]
experiments = st.Page("pages/experiments.py", title="Experiments", icon=":material/science:")
accounts = st.Page("pages/accounts.py", title="Accounts", icon=":material/group:")
account = sign_in([*everyone, experiments, accounts])
pages = [*everyone]
if account is None or account.may("launch_experiment"):
    pages.append(experiments)
if account is not None and account.may("manage_accounts"):
    pages.append(accounts)
st.navigation(pages).run()
