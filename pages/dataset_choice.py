# The dataset folder of a new project or experiment. Locally it is typed; in team mode it is
# picked among the team's data folder's own folders and checked again on submit, so nobody can
# make the server read (and echo in an error) a file outside it. Not a page.
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from annotate.datasets import dataset_folder, datasets_in
from pages.auth import team_mode

LABEL = "Dataset folder (when 'folder')"


def dataset_input(where: DeltaGenerator | None = None) -> str:
    """The folder as entered (a path locally, a data-folder entry in team mode)."""
    where = where or st.container()
    config = team_mode()
    if config is None:
        return where.text_input(LABEL, placeholder="../shared/data/FB15K237-DB15K")
    return where.selectbox(f"{LABEL}, in the team's data folder", datasets_in(config.data_folder), index=None,
                           placeholder="Choose a dataset folder") or ""


def server_folder(entered: str) -> str:
    """The folder to load: as typed locally; in team mode only inside the data folder (ValueError)."""
    config = team_mode()
    return entered if config is None else str(dataset_folder(config.data_folder, entered))
