# Who is using the app. Local mode (no $ALMEA_ACCOUNTS): nobody signs in, and the server must
# listen on this machine only. Team mode: every page needs a signed-in account
# (streamlit-authenticator: bcrypt passwords, a signed session cookie), and what an account
# may do follows its role. Not a page: app.py calls it before any page runs.
import streamlit as st
import streamlit_authenticator as stauth

from annotate.accounts import Account, DataFormatError, TeamConfig, team_config

LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")
ACCOUNT = "signed_in_account"
CONFIG = "team_config"
COOKIE_SET = "session_cookie_set"


def sign_in(pages: list) -> Account | None:
    """The signed-in account (team mode), or None in local mode. Stops the run until someone
    signs in (on the address asked for, among ``pages``, so a deep link survives the sign-in),
    and refuses to serve an open network address without accounts."""
    try:
        config = team_config()
    except DataFormatError as err:
        st.error("The accounts file is invalid, so nobody can sign in until it is fixed.")
        st.code(str(err), language=None, wrap_lines=True)
        st.stop()
    st.session_state[CONFIG] = config
    if config is None:
        refuse_open_address()
        st.session_state.pop(ACCOUNT, None)
        return None
    account = signed_in(config, pages)
    st.session_state[ACCOUNT] = account
    return account


def refuse_open_address() -> None:
    """Local mode has no login, so it only serves this machine (`.streamlit/config.toml`)."""
    address = st.get_option("server.address") or "every interface"
    if address not in LOCAL_ADDRESSES:
        st.error(f"This server listens on {address} but has no accounts: anyone who reaches it could label as "
                 "anyone. Serve a team with accounts (ALMEA_ACCOUNTS, see the README), or serve on 127.0.0.1.")
        st.stop()


def signed_in(config: TeamConfig, pages: list) -> Account:
    """The account of this browser session: the login form until the credentials (or the
    session cookie) check out; a sign-out button in the sidebar."""
    authenticator = stauth.Authenticate(config.credentials(), config.cookie_name, config.cookie_key,
                                        config.cookie_expiry_days, auto_hash=False, login_sleep_time=0)
    if st.session_state.get("authentication_status"):
        account = config.account(st.session_state.get("username"))
        if account is not None:
            keep_session_cookie(authenticator)
            with st.sidebar:
                st.caption(f"Signed in as **{account.name}** ({account.username}, {account.role})")
                authenticator.logout("Sign out", "sidebar", key="sign_out", callback=forget_cookie)
    if not st.session_state.get("authentication_status"):
        st.navigation(pages, position="hidden")           # resolves the URL; the page itself waits
        login_form(authenticator)
        if st.session_state.get("authentication_status"):   # signed in by the cookie: show the app
            st.rerun()
        st.stop()
    account = config.account(st.session_state.get("username"))
    if account is None:
        authenticator.logout(location="unrendered")
        st.error("This account no longer exists: ask an admin.")
        st.stop()
    return account


def keep_session_cookie(authenticator: stauth.Authenticate) -> None:
    """Write the session cookie once per browser session, in a run that completes. The login
    widget writes it just before its own rerun, which can cancel the write: a reload then
    asked for the password again."""
    if not st.session_state.get(COOKIE_SET):
        authenticator.cookie_controller.set_cookie()
        st.session_state[COOKIE_SET] = True


def forget_cookie(_: dict) -> None:
    st.session_state.pop(COOKIE_SET, None)


def login_form(authenticator: stauth.Authenticate) -> None:
    """What every address shows before signing in (the pages are registered but not listed)."""
    st.title("ALMEA Annotator")
    authenticator.login(location="main", key="sign_in", fields={"Form name": "Sign in", "Login": "Sign in"})
    if st.session_state.get("authentication_status") is False:
        st.error("Wrong username or password.")


def may(action: str) -> bool:
    """Whether the person using this session may do ``action`` (always, in local mode)."""
    account = st.session_state.get(ACCOUNT)
    return account is None or account.may(action)


def team_mode() -> TeamConfig | None:
    """The validated accounts file of this run, or None in local mode."""
    return st.session_state.get(CONFIG)


def admins_only(what: str) -> None:
    """Say why a control is missing for this account."""
    st.caption(f"{what} is for admins; you are signed in as an annotator.")
