"""Experiments: simulated-oracle runs launched from the browser, watched, and compared.

Each experiment is a background ``python -m almea simulate`` process writing into its own
folder, so it keeps running when the page, the tab or the app server closes; this page only
reads those folders (the progress table every few seconds). PNGs of the charts come from the
camera icon of the chart's toolbar; HTML and CSV from the buttons below each chart.
"""
import time

import pandas as pd
import streamlit as st

from annotate import figures
from annotate.datasets import DEMO_SIZE, demo_dataset
from annotate.experiments import (
    Experiment,
    ExperimentSpec,
    compare_frames,
    experiments_dir,
    launch_experiment,
    list_experiments,
    log_tail,
)
from annotate.service import LAYOUTS, STRATEGY_NAMES
from pages.auth import admins_only, may
from pages.dataset_choice import dataset_input, server_folder
from pages.routing import ensure_router

ensure_router()

DEMO = "synthetic demo"
NOTICE, FINISHED = "experiments_notice", "experiments_finished"
PNG_HELP = "For a PNG, use the camera icon in the chart's toolbar."


def launch_form() -> None:
    with st.form("launch_experiment"):
        name = st.text_input("Experiment name", placeholder="e.g. demo-ds3-vs-random")
        source = st.radio("Dataset", [DEMO, "folder"], horizontal=True)
        demo_col, folder_col, layout_col = st.columns([1, 2, 1])
        demo_size = demo_col.number_input("Demo entities", min_value=50, value=DEMO_SIZE, step=50)
        folder = dataset_input(folder_col)
        layout = layout_col.selectbox("Layout", LAYOUTS)
        budgets = st.text_input("Budgets", value="15%+1%x5, 20%",
                                help="Comma-separated, as in the paper: b%+s%xR (base, step, rounds); a plain b% is "
                                     "a random base on the longest schedule (the rounds' epochs at the round learning rate).")
        strategies = st.multiselect("Strategies", STRATEGY_NAMES, default=["ds3", "random"])
        seeds_col, alpha_col, warm_col, round_col = st.columns(4)
        seeds = seeds_col.number_input("Seeds", min_value=1, value=ExperimentSpec.seeds)
        alpha = alpha_col.number_input("DS3 alpha", min_value=0.01, value=ExperimentSpec.alpha, step=0.05)
        warm_epochs = warm_col.number_input("Warm-up epochs", min_value=1, value=ExperimentSpec.warm_epochs)
        round_epochs = round_col.number_input("Epochs per round", min_value=0, value=ExperimentSpec.round_epochs)
        submitted = st.form_submit_button("Launch", type="primary")
    if not submitted:
        return
    if source == "folder" and not folder.strip():
        st.error("Enter the dataset folder, or choose the synthetic demo.")
        return
    try:
        dataset = ((str(demo_dataset(size=int(demo_size))), "images") if source == DEMO
                   else (server_folder(folder.strip()), layout))
        spec = ExperimentSpec(
            folder=dataset[0], layout=dataset[1], budgets=tuple(b.strip() for b in budgets.split(",") if b.strip()),
            strategies=tuple(strategies), seeds=int(seeds), alpha=float(alpha), warm_epochs=int(warm_epochs),
            round_epochs=int(round_epochs),
        )
        experiment = launch_experiment(name.strip(), spec)
    except ValueError as err:
        st.error("The experiment was not launched.")
        st.code(str(err), language=None, wrap_lines=True)
        return
    st.session_state[NOTICE] = f"Experiment {experiment.name} launched: {len(experiment.runs)} runs."
    st.rerun()


def status_row(experiment: Experiment) -> dict:
    spec = experiment.spec
    done = sum(min(r.rounds_done, r.rounds_planned) for r in experiment.runs)
    return {
        "experiment": experiment.name,
        "status": experiment.status,
        "progress": experiment.progress,
        "rounds": f"{done}/{sum(r.rounds_planned for r in experiment.runs)}",
        "dataset": f"{spec.folder} ({spec.layout})",
        "budgets": ", ".join(spec.budgets),
        "strategies": ", ".join(spec.strategies),
        "seeds": spec.seeds,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(experiment.started_at)),
    }


@st.fragment(run_every=3)
def watch() -> None:
    """Progress from the run folders; the whole page reruns when an experiment finishes, so the
    comparison below offers it."""
    experiments = list_experiments()
    finished = sorted(e.name for e in experiments if e.status == "finished")
    if st.session_state.setdefault(FINISHED, finished) != finished:
        st.session_state[FINISHED] = finished
        st.rerun(scope="app")
    if not experiments:
        st.info("No experiment yet: launch one above.")
        return
    st.dataframe(pd.DataFrame([status_row(e) for e in experiments]), hide_index=True, column_config={
        "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
    })
    for experiment in experiments:
        if experiment.status == "stopped":
            with st.expander(f"{experiment.name} stopped before its report: last lines of its log"):
                st.code(log_tail(experiment) or "the log is empty", language=None)


def compare() -> None:
    with_data = [e for e in list_experiments() if any(r.rounds_done for r in e.runs)]
    if not with_data:
        st.caption("Curves appear here once a run has scored its base model.")
        return
    names = [e.name for e in with_data]
    chosen = st.multiselect("Experiments", names, default=[e.name for e in with_data if e.status == "finished"],
                            help="Running experiments show the rounds they have finished so far.")
    rounds, curves, summary = compare_frames([e for e in with_data if e.name in chosen])
    if curves.empty:
        return
    st.caption("Mean over seeds with a ±1 std band; labelled links as a share of all gold links; every run is "
               "scored on the same held-out test links of its seed.")
    figure = figures.learning_curve_figure(curves)
    st.plotly_chart(figure, config={"toImageButtonOptions": {"filename": "learning-curves", "scale": 2}})
    html, curves_csv, rounds_csv, _ = st.columns([1, 1, 1, 2])
    html.download_button("Chart (HTML)", lambda: figure.to_html(include_plotlyjs=True),
                         file_name="learning-curves.html", mime="text/html", key="curves_html", on_click="ignore",
                         help=PNG_HELP)
    curves_csv.download_button("Curves (CSV)", lambda: curves.to_csv(index=False), file_name="curves.csv",
                               mime="text/csv", key="curves_csv", on_click="ignore")
    rounds_csv.download_button("Rounds (CSV)", lambda: rounds.to_csv(index=False), file_name="rounds.csv",
                               mime="text/csv", key="rounds_csv", on_click="ignore")
    st.subheader("Summary: last round of every run")
    shown = ["budget", "strategy", "seeds", "labelled", "l2r_hits@1", "l2r_hits@1_std", "l2r_hits@10", "l2r_mrr",
             "l2r_mrr_std", "mean_batch_precision"]
    st.dataframe(summary[shown], hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.4f") for c in shown[4:]
    })
    st.download_button("Summary (CSV)", lambda: summary.to_csv(index=False), file_name="summary.csv", mime="text/csv",
                       key="summary_csv", on_click="ignore")


st.title("Experiments")
if not may("launch_experiment"):
    admins_only("Experiments")
    st.stop()
st.caption(f"Simulated-oracle runs (`python -m almea simulate`) in `{experiments_dir()}`; they keep running "
           "when this page or the app closes.")
if notice := st.session_state.pop(NOTICE, None):
    st.success(notice)
with st.expander("New experiment", expanded=not list_experiments()):
    launch_form()
st.subheader("Runs")
watch()
st.subheader("Compare")
compare()
