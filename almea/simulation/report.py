"""Tables and figures of simulated runs: per-round CSV/JSON, a summary, plotly curves."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from almea.atomic_write import write_atomically

METRICS = ("l2r_hits@1", "l2r_hits@10", "l2r_mrr", "r2l_hits@1", "r2l_mrr")
RUN_KEYS = ("budget", "strategy")


def rounds_frame(runs: list[tuple[dict, list[dict]]]) -> pd.DataFrame:
    """One row per (run, round) from (run config, round rows) pairs."""
    frames = []
    for config, rows in runs:
        frame = pd.json_normalize(rows, sep="_")
        frame.insert(0, "seed", config["seed"])
        frame.insert(0, "strategy", config["strategy"])
        frame.insert(0, "budget", config["budget"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def mean_std(mean: float, std: float, seeds: int) -> str:
    """"mean ± std" over seeds, or the mean alone for one seed (its std is undefined)."""
    return f"{mean:.4f} ± {std:.4f}" if seeds > 1 else f"{mean:.4f}"


def curve_frame(rounds: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (budget, strategy, round) of labels and metrics."""
    columns = ["labelled", "labelled_share", "precision", "select_seconds", "train_seconds", *METRICS]
    grouped = rounds.groupby([*RUN_KEYS, "round"])[columns]
    out = grouped.mean().join(grouped.std(ddof=1).fillna(0.0).add_suffix("_std")).join(grouped.size().rename("seeds"))
    return out.reset_index()


def summary_frame(rounds: pd.DataFrame) -> pd.DataFrame:
    """The last round of every run, as mean and std over seeds: the table of a report."""
    last = rounds.loc[rounds.groupby([*RUN_KEYS, "seed"])["round"].idxmax()]
    grouped = last.groupby(list(RUN_KEYS))
    columns = ["labelled", "answered", *METRICS]
    out = grouped[columns].mean().join(grouped[columns].std(ddof=1).fillna(0.0).add_suffix("_std"))
    precision = rounds[rounds["round"] > 0].groupby(list(RUN_KEYS))["precision"].mean().rename("mean_batch_precision")
    return out.join(precision).join(grouped.size().rename("seeds")).reset_index()


def learning_curve_figure(curves: pd.DataFrame, metrics: tuple[str, ...] = ("l2r_hits@1", "l2r_mrr")) -> go.Figure:
    """Accuracy against the share of labelled links, one line per (budget, strategy) with a
    +-1 std band over seeds; base-only budgets are single points with error bars."""
    figure = make_subplots(rows=1, cols=len(metrics), subplot_titles=[m.replace("_", " ") for m in metrics])
    palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]
    for index, ((budget, strategy), run) in enumerate(curves.groupby(list(RUN_KEYS), sort=True)):
        colour = palette[index % len(palette)]
        label = f"{budget} {strategy}" if len(run) > 1 else f"{budget} base"
        x = run["labelled_share"] * 100
        for col, metric in enumerate(metrics, start=1):
            mean, std = run[metric], run[f"{metric}_std"]
            shown = col == 1
            if len(run) > 1:
                figure.add_trace(go.Scatter(
                    x=list(x) + list(x[::-1]), y=list(mean + std) + list((mean - std)[::-1]), fill="toself",
                    fillcolor=colour, opacity=0.15, line={"width": 0}, hoverinfo="skip", showlegend=False,
                    legendgroup=label, name=f"{label} ±1 std",
                ), row=1, col=col)
            figure.add_trace(go.Scatter(
                x=x, y=mean, mode="lines+markers" if len(run) > 1 else "markers", name=label, legendgroup=label,
                showlegend=shown, line={"color": colour}, marker={"color": colour, "size": 8},
                error_y=None if len(run) > 1 else {"type": "data", "array": list(std), "visible": True},
            ), row=1, col=col)
    figure.update_xaxes(title_text="labelled links (% of gold)")
    figure.update_layout(template="plotly_white", height=420, legend={"orientation": "h", "y": -0.25})
    return figure


def write_report(runs: list[tuple[dict, list[dict]]], out: Path) -> dict[str, Path]:
    """rounds.csv, curves.csv, summary.csv, results.json and learning_curves.html in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rounds = rounds_frame(runs)
    curves, summary = curve_frame(rounds), summary_frame(rounds)
    paths = {name: out / name for name in ("rounds.csv", "curves.csv", "summary.csv", "results.json", "learning_curves.html")}
    files = {
        "rounds.csv": rounds.to_csv(index=False),
        "curves.csv": curves.to_csv(index=False),
        "summary.csv": summary.to_csv(index=False),
        "results.json": json.dumps([{"config": c, "rounds": r} for c, r in runs], indent=1),
        "learning_curves.html": learning_curve_figure(curves).to_html(include_plotlyjs=True, full_html=True),
    }
    for name, text in files.items():
        write_atomically(paths[name], text)
    return paths
