"""AppTest: the insights page draws the project's modality weights (and, for a per-entity fusion,
their spread over the entities), learning curve, selection map and selection quality from the store, offers every chart's downloads, and a click on a
proposed pair opens it in the labeller."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from annotate.insights import latest_entity_weights, stopping_text
from annotate.service import AnnotationProject
from annotate.settings import FUSION_TEXT
from tests.annotate.test_alignment_product import new_project, next_model
from tests.ui.apptest import ROOT, open_page
from tests.ui.conftest import FUSED, SELF_TRAINING


def decoded(spec: object) -> object:
    """The spec with plotly's typed arrays ({"dtype", "bdata"[, "shape"]}) as plain lists."""
    if isinstance(spec, dict) and "bdata" in spec:
        array = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"])
        return array.reshape([int(n) for n in str(spec.get("shape", len(array))).split(",")]).tolist()
    if isinstance(spec, dict):
        return {key: decoded(value) for key, value in spec.items()}
    if isinstance(spec, list):
        return [decoded(value) for value in spec]
    return spec


def charts(app: AppTest) -> list[dict]:
    """Every plotly figure on the page, as the JSON spec sent to the browser."""
    return [decoded(json.loads(chart.proto.spec)) for chart in app.get("plotly_chart")]


def chart(app: AppTest, title: str) -> dict:
    return next(c for c in charts(app) if title in json.dumps(c["layout"].get("title", {})))


def traces(figure: dict) -> dict[str, dict]:
    return {t["name"].split(" (")[0]: t for t in figure["data"]}


def test_modality_weights_and_learning_curve(project: AnnotationProject) -> None:
    app = open_page("insights")
    assert app.title[0].value == "Insights"
    weights = project.store.latest_checkpoint().metrics["modality_weights"]
    [bars] = chart(app, "Modality weights (model v1)")["data"]
    assert bars["orientation"] == "h" and dict(zip(bars["y"], bars["x"])) == weights
    history = traces(chart(app, "Modality shares"))
    assert set(history) == set(weights) and all(t["x"] == ["v1"] for t in history.values())
    l2r = next(t for t in chart(app, "Learning curve")["data"] if t["name"] == "l2r")
    metrics = project.store.latest_checkpoint().metrics
    assert l2r["x"] == [metrics["labelled"]] and l2r["y"] == [metrics["l2r"]["hits@1"]] and l2r["text"] == ["v1"]
    labels = [b.label for b in app.get("download_button")]
    assert labels.count("Chart (HTML)") == labels.count("Data (CSV)") == len(charts(app))


def test_the_global_fusion_says_every_entity_weighs_the_same(project: AnnotationProject) -> None:
    app = open_page("insights")
    [caption] = [c.value for c in app.caption if c.value.startswith("Fusion:")]
    assert FUSION_TEXT["global"] in caption and "same for every entity" in caption and "no per-entity spread" in caption
    assert not [c for c in charts(app) if "Per-entity" in json.dumps(c["layout"].get("title", {}))]
    assert "softmax" in chart(app, "Modality weights")["layout"]["xaxis"]["title"]["text"]


def test_a_per_entity_fusion_plots_how_the_entities_weights_spread(fused_project: AnnotationProject) -> None:
    app = page_of(FUSED)
    [caption] = [c.value for c in app.caption if c.value.startswith("Fusion:")]
    assert FUSION_TEXT["mpsea"] in caption and "box plot" in caption
    assert "mean weight" in chart(app, "Modality weights (model v1)")["layout"]["xaxis"]["title"]["text"]
    weights, pair = latest_entity_weights(fused_project), fused_project.data.pair
    boxes = chart(app, "Per-entity modality weights (model v1)")["data"]
    assert [b["name"] for b in boxes] == [f"KG1 ({pair.n1})", f"KG2 ({pair.n2})"]
    for box, rows in zip(boxes, (weights.weights[: pair.n1], weights.weights[pair.n1 :])):
        assert box["type"] == "box" and box["x"] == list(weights.modalities)
        np.testing.assert_allclose(box["median"], np.median(rows.astype(np.float64), axis=0), rtol=1e-6)
        assert (np.array(box["lowerfence"]) <= np.array(box["q1"])).all() and "y" not in box   # no entity sent
    labels = [b.label for b in app.get("download_button")]
    assert labels.count("Chart (HTML)") == labels.count("Data (CSV)") == len(charts(app))


def test_selection_map_colours_answers_and_compares_without_diversity(project: AnnotationProject) -> None:
    proposals = project.store.proposals(1)
    project.store.decide(proposals[0].id, "ann", "accept")
    project.store.decide(proposals[1].id, "ann", "reject")
    app = open_page("insights")
    shown = traces(chart(app, "The round's selection"))
    assert shown["accept"]["customdata"] == [proposals[0].id] and shown["reject"]["customdata"] == [proposals[1].id]
    assert sorted(shown["unanswered"]["customdata"]) == sorted(p.id for p in proposals[2:])
    assert shown["candidate pool"]["type"] == "scattergl" and "customdata" not in shown["candidate pool"]
    assert {t["type"] for t in shown.values()} == {"scattergl"}   # one WebGL layer: the selection on top
    assert len(shown["labelled"]["x"]) == len(project.store.accepted_pairs()) - 1   # the map predates the accept
    app.toggle(key="map_without_diversity").set_value(True).run()
    plain = traces(chart(app, "without the diversity penalty"))
    picked = sum((t.get("customdata", []) for t in plain.values()), [])
    assert len(picked) == len(proposals) and None in plain["not proposed"]["customdata"]
    assert set(picked) - {None} <= {p.id for p in proposals}


def test_clicking_a_proposed_pair_opens_it_in_the_labeller(project: AnnotationProject) -> None:
    app = open_page("insights")
    target = project.store.proposals(1)[3].id
    [selection_map] = [c for c in app.get("plotly_chart") if "round's selection" in c.proto.spec]
    states = app._tree.get_widget_states()
    click = {"selection": {"points": [{"curve_number": 2, "point_index": 0, "customdata": target}],
                           "point_indices": [0], "box": [], "lasso": []}}
    states.widgets.append(WidgetState(id=selection_map.proto.id, string_value=json.dumps(click)))
    app._run(states)
    assert app.title[0].value == "Label" and app.query_params["project"] == "demo"
    view = project.proposal_card(target).view
    assert (app.text[0].value, app.text[1].value) == (view.source.label, view.target.label)
    assert "open_proposal" not in app.session_state


def test_selection_quality(project: AnnotationProject) -> None:
    proposals = project.store.proposals(1)
    for annotator, answers in (("ann", ["accept", "reject", "accept"]), ("bob", ["accept", "accept"])):
        for proposal, answer in zip(proposals, answers):
            project.store.decide(proposal.id, annotator, answer)
    app = open_page("insights")
    rounds = chart(app, "Proposals by verdict and precision")
    line = next(t for t in rounds["data"] if t["name"] == "precision")
    assert line["x"] == ["round 1"] and line["y"] == [2 / 3]                # accept, conflict, accept
    bars = {t["name"]: t["y"] for t in rounds["data"] if t["type"] == "bar"}
    assert bars["accepted"] == [2] and bars["conflict"] == [1] and bars["unanswered"] == [len(proposals) - 3]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Pairs answered by 2+ annotators"] == "2" and metrics["Agreement"] == "50%"
    boxes = chart(app, "Time per answer")["data"]
    assert sorted(t["name"] for t in boxes) == ["ann", "bob"] and all(t["type"] == "box" for t in boxes)


def test_a_tampered_selection_map_shows_a_message_not_an_exception(project: AnnotationProject) -> None:
    (project.folder / "maps" / "map-v1.npz").write_bytes(b"PK\x03\x04 not really a zip")
    app = open_page("insights")                                # asserts that nothing raised
    assert "cannot be shown" in app.warning[0].value and "not affected" in app.warning[0].value
    assert "map-v1.npz" in app.code[0].value
    assert chart(app, "Learning curve")                        # the other tabs still draw


def page_of(name: str) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    app.query_params["project"] = name
    app.switch_page("pages/insights.py").run()
    assert not app.exception, app.exception
    return app


def assert_quality_chart(app: AppTest, project: AnnotationProject, gold: bool) -> None:
    """The chart draws the project's quality curve (every line's points are its rows, against
    the threshold) and marks the stopping signal's threshold when there is one."""
    curve, signal = project.quality_curve(), project.stopping_signal()
    figure = chart(app, "Precision and coverage by minimum probability")
    assert [s["x0"] for s in figure["layout"].get("shapes", [])] == [t for t in [signal.threshold] if t is not None]
    lines = traces(figure)
    expected = {"Wilson 95% high", "Wilson 95% interval", "answered pairs", "estimated", "coverage"}
    assert set(lines) == (expected | {"true"} if gold else expected)
    answered = curve[curve["answered"] > 0]
    for name, rows, column in (("estimated", curve, "estimated_precision"), ("coverage", curve, "coverage"),
                               ("answered pairs", answered, "answered_precision"),
                               ("Wilson 95% interval", answered, "wilson_low"),
                               ("Wilson 95% high", answered, "wilson_high"),
                               *((("true", curve, "true_precision"),) if gold else ())):
        np.testing.assert_array_equal(np.array(lines[name]["x"], float), rows["threshold"])
        np.testing.assert_array_equal(np.array(lines[name]["y"], float), rows[column])      # NaN = NaN
    assert lines["Wilson 95% interval"]["fill"] == "tonexty" and lines["coverage"]["yaxis"] == "y2"


def test_alignment_quality_estimated_beside_the_true_precision(home: Path) -> None:
    project = new_project(home, "gold", SELF_TRAINING, gold_seed_ratio=0.3)
    next_model(project)
    app = page_of("gold")
    assert_quality_chart(app, project, gold=True)
    assert any("held-out gold" in c.value for c in app.caption)
    signal = project.stopping_signal()
    assert any(c.value == stopping_text(signal, 0.95) for c in app.caption) and signal.changed_links is not None


def test_without_gold_the_quality_is_estimated_and_says_so(no_gold_project: AnnotationProject) -> None:
    assert not no_gold_project.has_gold
    app = page_of("nogold")
    assert_quality_chart(app, no_gold_project, gold=False)          # no true precision
    assert any("has no gold links: every figure here is estimated" in c.value for c in app.caption)
    assert any("no model can be scored on held-out links" in i.value for i in app.info)
