"""Plotly figures of the insights and experiments pages, drawn from ``annotate.insights`` frames.

Hover text that comes from the datasets is HTML-escaped: plotly renders a subset of HTML in
hover labels, and entity names are not ours to trust.
"""
from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from almea.simulation import learning_curve_figure  # noqa: F401 - re-exported: pages import annotate only
from annotate.insights import NOT_PROPOSED, UNANSWERED

TEMPLATE = "plotly_white"
ANSWER_COLOURS = {
    "accept": "#2ca02c", "reject": "#d62728", "unsure": "#ff7f0e", "conflict": "#9467bd",
    UNANSWERED: "#1f77b4", NOT_PROPOSED: "#000000",
}
POOL_COLOUR, LABELLED_COLOUR = "#c7c7c7", "#17becf"
KG_COLOURS = {"KG1": "#1f77b4", "KG2": "#ff7f0e"}
VERDICT_COLUMNS = {"accepted": "accept", "rejected": "reject", "unsure": "unsure", "conflict": "conflict"}


def modality_weights_figure(weights: pd.DataFrame, per_entity: bool = False) -> go.Figure:
    """The latest model version's global modality weights as horizontal bars; for a per-entity
    fusion (``per_entity``) these are the entities' mean weights."""
    latest = weights[weights["model_version"] == weights["model_version"].max()]
    figure = go.Figure(go.Bar(
        x=latest["weight"], y=latest["modality"], orientation="h", text=[f"{w:.1%}" for w in latest["weight"]],
        marker={"color": "#1f77b4"}, name="weight",
    ))
    version = "" if latest.empty else f" (model v{latest['model_version'].iloc[0]})"
    figure.update_layout(template=TEMPLATE, height=260, title=f"Modality weights{version}",
                         xaxis={"title": "mean weight over entities (sums to 1)" if per_entity else
                                "weight π (softmax, sums to 1)", "tickformat": ".0%"},
                         yaxis={"autorange": "reversed"})
    return figure


def entity_weights_figure(spread: pd.DataFrame, version: int) -> go.Figure:
    """How model ``version``'s per-entity fusion weights spread, one box per modality and KG
    (``insights.weight_spread_frame``: precomputed quartiles, so no entity is sent)."""
    figure = go.Figure()
    for kg, rows in spread.groupby("kg", sort=True):
        figure.add_trace(go.Box(
            x=rows["modality"], q1=rows["q1"], median=rows["median"], q3=rows["q3"], mean=rows["mean"],
            lowerfence=rows["lower_whisker"], upperfence=rows["upper_whisker"],
            name=f"{kg} ({rows['entities'].iloc[0]:,})", marker={"color": KG_COLOURS.get(kg)},
        ))
    figure.update_layout(template=TEMPLATE, height=360, boxmode="group",
                         title=f"Per-entity modality weights (model v{version})",
                         xaxis={"title": "modality"},
                         yaxis={"title": "entity's weight (its row sums to 1)", "tickformat": ".1%"},
                         legend={"orientation": "h", "y": -0.2, "title": {"text": "entities of"}})
    return figure


def modality_history_figure(weights: pd.DataFrame) -> go.Figure:
    """How the modality shares moved from one model version to the next (stacked bars)."""
    figure = go.Figure()
    for modality, rows in weights.groupby("modality", sort=False):
        figure.add_trace(go.Bar(x=[f"v{v}" for v in rows["model_version"]], y=rows["weight"], name=modality,
                                customdata=rows["labelled"], hovertemplate="%{x}: %{y:.1%} (%{customdata} labels)"))
    figure.update_layout(template=TEMPLATE, height=320, barmode="stack", title="Modality shares by model version",
                         xaxis={"title": "model version"}, yaxis={"title": "share", "tickformat": ".0%"})
    return figure


def project_curve_figure(curve: pd.DataFrame) -> go.Figure:
    """Held-out Hits@1 and MRR of each model version against the labels it trained on."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=["Hits@1", "MRR"])
    versions = [f"v{v}" for v in curve["model_version"]]
    for direction, colour, dash in (("l2r", "#1f77b4", "solid"), ("r2l", "#ff7f0e", "dot")):
        for col, metric in enumerate(("hits@1", "mrr"), start=1):
            figure.add_trace(go.Scatter(
                x=curve["labelled"], y=curve[f"{direction}_{metric}"], name=direction, legendgroup=direction,
                mode="lines+markers+text" if direction == "l2r" else "lines+markers",
                text=versions, textposition="top center", hovertemplate="%{text}: %{y:.3f} at %{x} labels",
                showlegend=col == 1, line={"color": colour, "dash": dash}, marker={"color": colour},
            ), row=1, col=col)
    figure.update_xaxes(title_text="labels used (seeds + accepted)")
    figure.update_yaxes(range=[0, 1.05])
    figure.update_layout(template=TEMPLATE, height=400, title="Learning curve: held-out accuracy by model version",
                         legend={"orientation": "h", "y": -0.25})
    return figure


def precision_coverage_figure(curve: pd.DataFrame, threshold: float | None = None) -> go.Figure:
    """Precision of the predicted links at or above each calibrated probability, against that
    probability (the Projects page's download cut): the calibrated estimate, the answered
    pairs' accept rate in its Wilson 95% band, the true precision on held-out gold when the
    project has gold, and on the right axis the share of the predicted links each cut keeps.
    ``threshold`` (the stopping signal's) is marked where the target precision is reached."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    answered = curve[curve["answered"] > 0]
    figure.add_trace(go.Scatter(
        x=answered["threshold"], y=answered["wilson_high"], mode="lines", line={"width": 0}, name="Wilson 95% high",
        showlegend=False, hoverinfo="skip",
    ), secondary_y=False)
    figure.add_trace(go.Scatter(
        x=answered["threshold"], y=answered["wilson_low"], mode="lines", line={"width": 0}, fill="tonexty",
        fillcolor="rgba(127, 127, 127, 0.2)", name="Wilson 95% interval", hoverinfo="skip",
    ), secondary_y=False)
    figure.add_trace(go.Scatter(
        x=answered["threshold"], y=answered["answered_precision"], mode="lines+markers",
        name="answered pairs (accept rate)", customdata=answered[["answered", "wilson_low", "wilson_high"]],
        line={"color": "#7f7f7f", "dash": "dash"}, marker={"color": "#7f7f7f", "size": 5},
        hovertemplate="%{y:.3f} of %{customdata[0]} answers (95%: %{customdata[1]:.2f}–%{customdata[2]:.2f})",
    ), secondary_y=False)
    figure.add_trace(go.Scatter(
        x=curve["threshold"], y=curve["estimated_precision"], mode="lines+markers", name="estimated (calibrated)",
        customdata=curve[["links"]], line={"color": "#1f77b4"},
        hovertemplate="%{y:.3f} over %{customdata[0]} links",
    ), secondary_y=False)
    if "true_precision" in curve:
        figure.add_trace(go.Scatter(
            x=curve["threshold"], y=curve["true_precision"], mode="lines+markers", name="true (held-out gold)",
            line={"color": "#2ca02c", "dash": "dot"}, hovertemplate="%{y:.3f}",
        ), secondary_y=False)
    figure.add_trace(go.Scatter(
        x=curve["threshold"], y=curve["coverage"], mode="lines", name="coverage (right axis)",
        customdata=curve[["links"]], line={"color": "#ff7f0e", "width": 1.5},
        hovertemplate="%{customdata[0]} links, %{y:.0%} of the predicted",
    ), secondary_y=True)
    if threshold is not None:
        figure.add_vline(x=threshold, line={"color": "#1f77b4", "dash": "dash", "width": 1},
                         annotation_text=f"target precision reached at p ≥ {threshold:.2f}", annotation_position="top")
    figure.update_xaxes(title_text="minimum calibrated probability of a predicted link", range=[-0.02, 1.0],
                        unifiedhovertitle={"text": "links with p ≥ %{x:.2f}"})
    figure.update_yaxes(title_text="precision", range=[0, 1.05], secondary_y=False)
    figure.update_yaxes(title_text="coverage: share of the predicted links kept", range=[0, 1.05],
                        tickformat=".0%", showgrid=False, secondary_y=True)
    figure.update_layout(template=TEMPLATE, height=440, title="Precision and coverage by minimum probability",
                         legend={"orientation": "h", "y": -0.25, "traceorder": "normal"}, hovermode="x unified")
    return figure


def _hover(rows: pd.DataFrame) -> list[str]:
    return [
        f"{html.escape(s)} ↔ {html.escape(t)}" + ("" if pd.isna(c) else f"<br>CSLS {c:.3f}")
        for s, t, c in zip(rows["source_label"], rows["target_label"], rows["confidence"])
    ]


def selection_map_figure(points: pd.DataFrame, without_diversity: bool = False) -> go.Figure:
    """The pool (grey), labelled pairs (the map's sample, the legend says of how many) and the
    round's selection coloured by answer.

    ``without_diversity`` shows DS3's pick with D = 1 instead; its pairs that were not
    proposed are drawn as open black circles. Selected points carry their proposal id as
    ``customdata`` (None when not proposed), which a click hands to the labeller.
    """
    pool = points[points["layer"] == "pool"]
    labelled = points[points["layer"] == "labelled"]
    picked = pool[pool["chosen_without_diversity" if without_diversity else "chosen"]]
    figure = go.Figure()
    figure.add_trace(go.Scattergl(x=pool["x"], y=pool["y"], mode="markers", name=f"candidate pool ({len(pool)})",
                                  marker={"color": POOL_COLOUR, "size": 5}, hovertext=_hover(pool), hoverinfo="text"))
    total = points.attrs.get("labelled_total", len(labelled))
    shown = f"{len(labelled)}" if total == len(labelled) else f"a sample of {len(labelled)} of {total}"
    figure.add_trace(go.Scattergl(x=labelled["x"], y=labelled["y"], mode="markers", name=f"labelled ({shown})",
                                  marker={"color": LABELLED_COLOUR, "size": 5, "symbol": "x"},
                                  hovertext=_hover(labelled), hoverinfo="text"))
    for answer, colour in ANSWER_COLOURS.items():
        rows = picked[picked["answer"] == answer]
        if rows.empty:
            continue
        hollow = answer == NOT_PROPOSED
        figure.add_trace(go.Scattergl(                                   # WebGL too, so it is drawn above the pool
            x=rows["x"], y=rows["y"], mode="markers", name=f"{answer} ({len(rows)})",
            marker={"color": colour, "size": 12, "symbol": "circle-open" if hollow else "circle",
                    "line": {"width": 2 if hollow else 1, "color": colour if hollow else "white"}},
            customdata=[None if pd.isna(p) else int(p) for p in rows["proposal_id"]],
            hovertext=_hover(rows), hoverinfo="text",
        ))
    title = "DS3 without the diversity penalty (D = 1)" if without_diversity else "The round's selection"
    figure.update_layout(template=TEMPLATE, height=520, title=title, clickmode="event+select",
                         xaxis={"title": "PC 1", "zeroline": False}, yaxis={"title": "PC 2", "zeroline": False},
                         legend={"orientation": "h", "y": -0.15})
    return figure


def round_precision_figure(rounds: pd.DataFrame) -> go.Figure:
    """Each round's proposals by verdict (stacked bars) and its precision (line, right axis)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    x = [f"round {r}" for r in rounds["round"]]
    for column, verdict in VERDICT_COLUMNS.items():
        figure.add_trace(go.Bar(x=x, y=rounds[column], name=column, marker={"color": ANSWER_COLOURS[verdict]}),
                         secondary_y=False)
    figure.add_trace(go.Bar(x=x, y=rounds["proposed"] - rounds["answered"], name=UNANSWERED,
                            marker={"color": POOL_COLOUR}), secondary_y=False)
    figure.add_trace(go.Scatter(x=x, y=rounds["precision"], name="precision", mode="lines+markers",
                                line={"color": "#000000"}), secondary_y=True)
    figure.update_yaxes(title_text="pairs", secondary_y=False)
    figure.update_yaxes(title_text="precision (accepted / answered)", range=[0, 1.05], tickformat=".0%",
                        secondary_y=True)
    figure.update_layout(template=TEMPLATE, height=380, barmode="stack", title="Proposals by verdict and precision",
                         legend={"orientation": "h", "y": -0.2})
    return figure


def decision_time_figure(times: pd.DataFrame) -> go.Figure:
    """Seconds per answer, one box per annotator."""
    figure = go.Figure()
    for annotator, rows in times.groupby("annotator"):
        figure.add_trace(go.Box(y=rows["seconds"], name=html.escape(str(annotator)), boxpoints="outliers"))
    figure.update_layout(template=TEMPLATE, height=340, showlegend=False, title="Time per answer",
                         yaxis={"title": "seconds per answer"})
    return figure
