"""Projects: create one from a dataset, see every project's progress, simulate, export.

Uploaded seed files are written to a temporary file and checked by the service before any
project is written, so a bad file is reported (file, line, problem) and leaves nothing behind.
"""
import tempfile
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from annotate.datasets import demo_dataset
from annotate.settings import FUSION_TEXT, FUSIONS, MISSING_STRATEGIES, MISSING_TEXT, ProjectSettings
from pages.project_picker import remember, remembered
from annotate.service import (
    LAYOUTS,
    STRATEGY_NAMES,
    AnnotationProject,
    DataFormatError,
    Progress,
    create_project,
    job_text,
    list_projects,
    project_settings,
    projects_dir,
)
from pages.auth import admins_only, may
from pages.dataset_choice import dataset_input, server_folder
from pages.routing import ensure_router

ensure_router()

DEMO = "synthetic demo"
ALIGNMENT_FORMATS = ((".tsv", "text/tab-separated-values"), (".csv", "text/csv"), (".jsonl", "application/jsonl"))
NOTICE = "projects_notice"
DEFAULTS = ProjectSettings()  # what the form offers first: the service's own defaults


def export_bytes(project: AnnotationProject, file_name: str) -> bytes:
    """One export, written by the service to a scratch file (its suffix picks the format)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / file_name
        if file_name.endswith(".tsv"):
            project.export_links(path)
        else:
            project.export_decisions(path)
        return path.read_bytes()


def overview_row(name: str) -> dict:
    project = AnnotationProject.open(name)
    try:
        progress = project.progress()
    finally:
        project.close()
    counts = progress.counts
    return {
        "project": name,
        "dataset": f"{Path(project.dataset['folder']).name} ({project.dataset['layout']})",
        "strategy": project.settings.learner.selection.strategy,
        "fusion": project.settings.fusion,
        "missing": project.settings.missing,
        "round": "—" if progress.round is None else str(progress.round.id),
        "answered": "—" if counts is None else f"{counts.answered}/{counts.total}",
        "labels": progress.labels,
        "model": f"v{progress.model_version}" if progress.model_version else "training the first",
        "worker": job_text(progress.job, time.time()),
    }


def create_form() -> None:
    with st.form("create_project"):
        name = st.text_input("Project name", placeholder="e.g. fb-db-round1")
        source = st.radio("Dataset", [DEMO, "folder"], horizontal=True)
        folder = dataset_input()
        layout = st.selectbox("Layout", LAYOUTS)
        fusion_col, missing_col = st.columns(2)
        fusion = fusion_col.selectbox("Modality fusion", FUSIONS, index=FUSIONS.index(DEFAULTS.fusion),
                                      format_func=FUSION_TEXT.get,
                                      help="Fixed for the project: a model of one fusion never loads into another.")
        missing = missing_col.selectbox("Missing modalities", MISSING_STRATEGIES,
                                        index=MISSING_STRATEGIES.index(DEFAULTS.missing), format_func=MISSING_TEXT.get,
                                        help="What the model does for an entity without an image (or attributes, "
                                             "...). Fixed for the project, like the fusion.")
        strategy_col, batch_col, warm_col, round_col = st.columns(4)
        strategy = strategy_col.selectbox("Strategy", STRATEGY_NAMES,
                                          index=STRATEGY_NAMES.index(DEFAULTS.learner.selection.strategy))
        batch_size = batch_col.number_input("Pairs per round", min_value=1, value=DEFAULTS.batch_size)
        warm_epochs = warm_col.number_input("Warm-up epochs", min_value=1, value=DEFAULTS.warm_epochs)
        round_epochs = round_col.number_input("Epochs per round", min_value=0, value=DEFAULTS.round_epochs)
        upload = st.file_uploader("Seed links (TSV: KG1 entity<TAB>KG2 entity; optional: none is a cold start)",
                                  type=["tsv", "txt"])
        gold_ratio = st.slider("Share of the gold links used as seeds", 0.0, 0.5, 0.0, 0.05)
        submitted = st.form_submit_button("Create project", type="primary")
    if not submitted:
        return
    if source == DEMO:
        dataset = {"folder": str(demo_dataset()), "layout": "images"}
    elif not folder.strip():
        st.error("Enter the dataset folder, or choose the synthetic demo.")
        return
    else:
        try:
            dataset = {"folder": str(server_folder(folder.strip())), "layout": layout}
        except ValueError as err:
            st.error(f"The project was not created: {err}.")
            return
    settings = project_settings(strategy, int(batch_size), int(warm_epochs), int(round_epochs))
    settings = settings.with_fusion(fusion).with_missing(missing)
    with tempfile.TemporaryDirectory() as scratch:
        seeds = None
        if upload is not None:
            seeds = Path(scratch) / (Path(upload.name).name or "seeds.tsv")
            seeds.write_bytes(upload.getvalue())
        try:
            with st.spinner("Loading the dataset and checking the seed links…"):
                create_project(name.strip(), dataset, settings, seed_links=seeds, gold_seed_ratio=gold_ratio)
        except DataFormatError as err:
            where = upload.name if seeds is not None and err.path == seeds else str(err.path)
            st.error("The project was not created: an input file is invalid.")
            line = "" if err.line is None else f", line {err.line}"
            st.code(f"{where}{line}: {err.problem}", language=None, wrap_lines=True)
            return
        except ValueError as err:
            st.error("The project was not created.")
            st.code(str(err), language=None, wrap_lines=True)
            return
    cold = upload is None and gold_ratio == 0
    st.session_state[NOTICE] = (
        f"Project {name.strip()} created without seed links (a cold start): its untrained first model proposes "
        "its most confident pairs, and trains on the ones you accept." if cold else
        f"Project {name.strip()} created; its first model trains in the background.")
    st.rerun()


def answer_with_oracle(name: str) -> None:
    project = AnnotationProject.open(name)
    try:
        answered = project.answer_with_oracle(error_rate=st.session_state[f"error_rate_{name}"])
    finally:
        project.close()
    st.session_state[NOTICE] = f"The simulated oracle answered {answered} pairs of {name}."


def alignment_downloads(project: AnnotationProject, name: str) -> None:
    """The full alignment (every KG1 entity's partner) in the three formats, optionally cut
    at a calibrated probability."""
    st.markdown("**Full alignment**")
    records = project.alignment()
    if records is None:
        st.info("The full alignment comes with the first model: the worker writes it after every model.")
        return
    sources = records["provenance"].value_counts()
    st.caption(f"Model v{project.store.model_version()} aligns {len(records):,} KG1 entities: " + ", ".join(
        f"{sources.get(kind, 0):,} {kind}" for kind in ("seed", "human-accepted", "pseudo-label", "predicted")) + ".")
    cut_col, *formats = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    floor = cut_col.number_input("Minimum probability (0: every link)", 0.0, 1.0, 0.0, 0.05, key=f"min_p_{name}",
                                 help="Predicted links below this calibrated probability are left out; "
                                      "seeds and accepted answers always stay.")
    for column, (suffix, mime) in zip(formats, ALIGNMENT_FORMATS):
        column.download_button(f"Full alignment ({suffix[1:].upper()})",
                               project.alignment_file(suffix, floor or None), width="stretch",
                               file_name=f"{name}-alignment{suffix}", mime=mime, key=f"alignment{suffix}_{name}")
    st.caption(f"{len(project.alignment(floor or None)):,} of {len(records):,} links in the download.")


def oracle_controls(project: AnnotationProject, progress: Progress, name: str) -> None:
    """The simulated oracle, or why this project has none (no gold links to answer from)."""
    st.markdown("**Simulated oracle**")
    available, reason = project.oracle_available()
    oracle, error_rate = st.columns([1, 2], vertical_alignment="center")
    oracle.button("Answer this round with the simulated oracle", disabled=progress.round is None or not available,
                  on_click=answer_with_oracle, args=(name,),
                  help="Answers the open round from the dataset's gold links, as annotator 'oracle'")
    error_rate.slider("Oracle error rate", 0.0, 0.5, 0.0, 0.05, key=f"error_rate_{name}", disabled=not available)
    if not available:
        st.caption(f"No simulated oracle: {reason}.")


def manage(name: str) -> None:
    if not may("download_exports"):
        admins_only("Managing a project (downloads, the simulated oracle)")
        return
    project = AnnotationProject.open(name)
    try:
        progress = project.progress()
        st.caption(f"Folder: {project.folder} · Missing modalities: {MISSING_TEXT[project.settings.missing]} · "
                   f"Fusion: {FUSION_TEXT[project.settings.fusion]}")
        alignment_downloads(project, name)
        oracle_controls(project, progress, name)
        st.markdown("**Answers**")
        links, log_csv, log_jsonl = st.columns(3)
        links.download_button("Accepted links (ent_links TSV)", export_bytes(project, "ent_links.tsv"),
                              file_name=f"{name}-ent_links.tsv", mime="text/tab-separated-values", width="stretch")
        log_csv.download_button("Decision log (CSV)", export_bytes(project, "decisions.csv"),
                                file_name=f"{name}-decisions.csv", mime="text/csv", width="stretch")
        log_jsonl.download_button("Decision log (JSONL)", export_bytes(project, "decisions.jsonl"),
                                  file_name=f"{name}-decisions.jsonl", mime="application/jsonl", width="stretch")
    finally:
        project.close()


st.title("Projects")
if may("create_project"):
    st.caption(f"Projects live in `{projects_dir()}` (set ALMEA_HOME to move them).")
if notice := st.session_state.pop(NOTICE, None):
    st.success(notice)
names = list_projects()
if names:
    st.dataframe(pd.DataFrame([overview_row(n) for n in names]), hide_index=True)
    current = remembered()
    chosen = st.selectbox("Manage project", names, index=names.index(current) if current in names else len(names) - 1)
    remember(chosen)
    manage(chosen)
else:
    st.info("No project yet: create the first one below.")
st.subheader("New project")
if may("create_project"):
    create_form()
else:
    admins_only("Creating a project")
