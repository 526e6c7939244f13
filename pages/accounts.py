"""Accounts (team mode, admins): who may sign in, with which role.

Changes are written to the accounts file at once and apply from the next click of each
session; a removed account is signed out there. Past decisions keep their annotator's name.
"""
import pandas as pd
import streamlit as st

from annotate.accounts import ROLES, MIN_PASSWORD, save_team_config, with_account, without_account
from pages.auth import ACCOUNT, admins_only, may, team_mode
from pages.routing import ensure_router

ensure_router()

NOTICE = "accounts_notice"


def save(change, message: str) -> None:
    """Apply ``change`` (TeamConfig -> TeamConfig) to the file, or say why not."""
    try:
        save_team_config(change(team_mode()))
    except ValueError as err:
        st.error(f"Nothing was changed: {err}")
        return
    st.session_state[NOTICE] = message
    st.rerun()


def add_form() -> None:
    with st.form("add_account", clear_on_submit=True):
        user_col, name_col, role_col = st.columns(3)
        username = user_col.text_input("Username", placeholder="e.g. alice").strip()
        name = name_col.text_input("Display name", placeholder="e.g. Alice Martin").strip()
        role = role_col.selectbox("Role", ROLES, index=ROLES.index("annotator"))
        password = st.text_input(f"Password (at least {MIN_PASSWORD} characters; empty keeps a known account's)",
                                 type="password")
        submitted = st.form_submit_button("Add or update", type="primary")
    if submitted:
        save(lambda config: with_account(config, username, name or username, role, password or None),
             f"Account {username} saved as {role}.")


def remove_form(usernames: list[str]) -> None:
    me = st.session_state[ACCOUNT].username
    others = [u for u in usernames if u != me]
    remove_col, button_col = st.columns([2, 1], vertical_alignment="bottom")
    chosen = remove_col.selectbox("Remove an account", others, index=None, placeholder="Choose an account")
    if button_col.button("Remove", disabled=chosen is None, key="remove_account"):
        save(lambda config: without_account(config, chosen), f"Account {chosen} removed.")


st.title("Accounts")
config = team_mode()
if config is None:
    st.info("This app runs in local mode (no accounts): set ALMEA_ACCOUNTS to serve a team (see the README).")
    st.stop()
if not may("manage_accounts"):
    admins_only("Managing accounts")
    st.stop()
if notice := st.session_state.pop(NOTICE, None):
    st.success(notice)
st.caption(f"Accounts file: `{config.path}`; datasets come from `{config.data_folder}`.")
st.dataframe(pd.DataFrame([{"username": a.username, "name": a.name, "role": a.role} for a in config.accounts]),
             hide_index=True)
add_form()
remove_form([a.username for a in config.accounts])
