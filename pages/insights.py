"""Insights: what the model weighs, how it learns, what it selects and how well.

Every chart has its data as CSV and a self-contained HTML copy (generated only when clicked);
PNG comes from the camera icon of the chart's own toolbar, drawn by the browser. Entity
names reach charts escaped (annotate.figures) and tables as plain text.
"""
import pandas as pd
import streamlit as st
from plotly.graph_objects import Figure

from annotate import figures, insights
from annotate.service import AnnotationProject, list_projects
from annotate.settings import FUSION_TEXT
from pages.project_picker import chosen_project
from pages.routing import ensure_router

ensure_router()

OPEN_PROPOSAL = "open_proposal"  # session key the label page reads: the proposal to show first
PNG_HELP = "For a PNG, use the camera icon in the chart's toolbar."


def chart_config(name: str) -> dict:
    """The toolbar's PNG export, drawn by the browser, named after the chart."""
    return {"toImageButtonOptions": {"filename": name, "scale": 2}}


def downloads(figure: Figure, data: pd.DataFrame, name: str) -> None:
    left, right, _ = st.columns([1, 1, 3])
    left.download_button("Chart (HTML)", lambda: figure.to_html(include_plotlyjs=True), file_name=f"{name}.html",
                         mime="text/html", key=f"{name}_html", on_click="ignore", help=PNG_HELP)
    right.download_button("Data (CSV)", lambda: data.to_csv(index=False), file_name=f"{name}.csv", mime="text/csv",
                          key=f"{name}_csv", on_click="ignore")


def show_chart(figure: Figure, data: pd.DataFrame, name: str) -> None:
    st.plotly_chart(figure, config=chart_config(name))
    downloads(figure, data, name)


def entity_spread(project: AnnotationProject) -> None:
    """The box plot of the newest model's per-entity weights (per-entity fusions only)."""
    version, weights = project.store.model_version(), insights.latest_entity_weights(project)
    if weights is None:
        st.info(f"No per-entity weights of model v{version} to plot: its weights file is missing (models trained "
                "before it existed) or unreadable; the next model writes one.")
        return
    if not weights.per_entity:
        st.info(f"Every entity of model v{version} has the same weights: the bars above are the whole story.")
        return
    entities = insights.entity_weights_frame(project, weights)
    spread = insights.weight_spread_frame(entities, weights.modalities)
    show_chart(figures.entity_weights_figure(spread, version), entities, "entity-weights")


def modality_section(project: AnnotationProject) -> None:
    weights = insights.modality_weights_frame(project)
    if weights.empty:
        st.info("No model yet: the weights appear once the first model is trained.")
        return
    fusion = project.settings.fusion
    if fusion == "global":
        st.caption(f"Fusion: {FUSION_TEXT[fusion]}. The weights π = softmax(w) are the same for every entity, so "
                   "the bars say it all and there is no per-entity spread to plot. Per-pair contributions are on "
                   "the Label page.")
    else:
        st.caption(f"Fusion: {FUSION_TEXT[fusion]}. The bars are the mean weights over all entities; the box plot "
                   "shows how the entities' own weights spread (whiskers: the furthest within 1.5 IQR). Each "
                   "pair's weights and contributions are on the Label page.")
    latest = weights[weights["model_version"] == weights["model_version"].max()]
    show_chart(figures.modality_weights_figure(weights, per_entity=fusion != "global"), latest, "modality-weights")
    if fusion != "global":
        entity_spread(project)
    show_chart(figures.modality_history_figure(weights), weights, "modality-history")


def alignment_quality_section(project: AnnotationProject) -> None:
    curve = project.quality_curve()
    if curve is None:
        st.info(project.quality_note())
        return
    signal = project.stopping_signal()
    basis = ("Estimated from the calibration on the annotators' answers; the true precision is measured on the "
             "held-out gold links, which the estimate never sees." if project.has_gold else
             "This dataset has no gold links: every figure here is estimated from the annotators' answers "
             "(calibrated probabilities, and the accept rate of answered pairs with its Wilson 95% interval).")
    st.caption(f"{basis} The x axis is the Projects page's minimum probability: a download cut there keeps the "
               "predicted links at or above it (seeds and accepted answers always stay).")
    if signal is not None:
        st.caption(insights.stopping_text(signal, project.settings.learner.self_training.target_precision))
    show_chart(figures.precision_coverage_figure(curve, None if signal is None else signal.threshold), curve,
               "precision-coverage")


def curve_section(project: AnnotationProject) -> None:
    if not project.has_gold:
        st.info("This dataset has no gold links, so no model can be scored on held-out links: the Alignment quality "
                "tab shows the quality estimated from the answers instead.")
        return
    curve = insights.learning_curve_frame(project)
    if curve.empty:
        st.info("No scored model yet (the project holds out no gold links, or no model is trained).")
        return
    st.caption("Each model version scored on the held-out gold links (CSLS, left-to-right and right-to-left). "
               "Simulated runs are compared on the Experiments page.")
    show_chart(figures.project_curve_figure(curve), curve, "learning-curve")


def map_section(project: AnnotationProject, name: str) -> None:
    rounds = [r for r in reversed(project.store.rounds()) if r.model_version is not None]
    if not rounds:
        st.info("No round yet: the map appears with the first proposed batch.")
        return
    round_ = st.selectbox("Round", rounds,
                          format_func=lambda r: f"round {r.id} ({r.strategy}, model v{r.model_version})")
    try:
        points = insights.selection_map_frame(project, round_.id)
    except insights.SelectionMapError as err:
        st.warning(f"The selection map of model v{round_.model_version} cannot be shown: its file is damaged or "
                   "was changed outside the app. The round, its proposals and answers are not affected; the next "
                   "model draws a new map.")
        st.code(f"{err.path}: {err.problem}", language=None, wrap_lines=True)
        return
    if points is None:
        st.info(f"Model v{round_.model_version} has no selection map yet: the worker draws it just after the "
                "round opens (models trained before maps existed have none).")
        return
    pool = points[points["layer"] == "pool"]
    compared = round_.strategy == "ds3" and bool((pool["chosen"] != pool["chosen_without_diversity"]).any())
    without = st.toggle("Without the diversity penalty (D = 1)", key="map_without_diversity", disabled=not compared,
                        help="DS3 on the same pool with every D_i = 1: what the round would have proposed "
                             "without favouring pairs far from labelled ones.")
    both = int((pool["chosen"] & pool["chosen_without_diversity"]).sum())
    labelled, total = int((points["layer"] == "labelled").sum()), points.attrs["labelled_total"]
    sample = f" Of the {total} labelled pairs, a fixed random {labelled} are drawn." if total > labelled else ""
    st.caption(f"PCA of the pair embeddings [source, target]. Without D, DS3 picks {both} of the same "
               f"{int(pool['chosen'].sum())} pairs.{sample} Click a proposed pair to open it in the labeller.")
    figure, chart_name = figures.selection_map_figure(points, without), f"selection-map-round-{round_.id}"
    event = st.plotly_chart(figure, config=chart_config(chart_name), key="selection_map", on_select="rerun",
                            selection_mode="points")
    downloads(figure, points, chart_name)
    proposal_id = insights.clicked_proposal(event.selection.points)
    if proposal_id is not None:
        st.session_state[OPEN_PROPOSAL] = proposal_id
        st.switch_page("pages/label.py", query_params={"project": name, "proposal": str(proposal_id)})


def quality_section(project: AnnotationProject) -> None:
    st.subheader("Precision of each round")
    st.caption("Share of a round's answered proposals that people accepted.")
    rounds = insights.round_precision_frame(project)
    show_chart(figures.round_precision_figure(rounds), rounds, "round-precision")
    st.subheader("Agreement between annotators")
    agreement = insights.agreement_frame(project)
    if agreement.empty:
        st.caption("No pair has been answered by two annotators yet.")
    else:
        shared, agreed = st.columns(2)
        shared.metric("Pairs answered by 2+ annotators", len(agreement))
        agreed.metric("Agreement", f"{agreement['agreed'].mean():.0%}")
        st.dataframe(agreement, hide_index=True)
        st.download_button("Agreement (CSV)", lambda: agreement.to_csv(index=False), file_name="agreement.csv",
                           mime="text/csv", key="agreement_csv", on_click="ignore")
    st.subheader("Time per answer")
    times = insights.decision_times_frame(project)
    if times.empty:
        st.caption("Not enough answers to time yet.")
        return
    st.caption(f"Time since the same annotator's previous action; pauses over {insights.IDLE_SECONDS / 60:.0f} "
               "minutes are left out.")
    show_chart(figures.decision_time_figure(times), times, "decision-times")
    seconds = st.column_config.NumberColumn(format="%.1f")
    st.dataframe(insights.decision_time_summary(times), hide_index=True,
                 column_config={"median_seconds": seconds, "mean_seconds": seconds})


st.title("Insights")
projects = list_projects()
if not projects:
    st.info("No project yet: create one on the Projects page.")
    st.stop()
name = chosen_project(projects)
project = AnnotationProject.open(name)
try:
    alignment_tab, weights_tab, curve_tab, map_tab, quality_tab = st.tabs(
        ["Alignment quality", "Modality weights", "Learning curve", "Selection map", "Selection quality"])
    with alignment_tab:
        alignment_quality_section(project)
    with weights_tab:
        modality_section(project)
    with curve_tab:
        curve_section(project)
    with map_tab:
        map_section(project, name)
    with quality_tab:
        quality_section(project)
finally:
    project.close()
