import numpy as np
import pandas as pd
import pytest
import torch

from almea.alignment import Calibrator, precision_coverage, predict_alignment, score_table, wilson_interval
from almea.alignment.export import alignment_records, alignment_text, format_of
from almea.alignment.quality import expected_calibration_error


def _space(n1=60, n2=70, dim=16, noise=0.3, seed=0):
    """KG1 entity i is KG2 entity n1 + i plus noise, for the first min(n1, n2) entities."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(max(n1, n2), dim, generator=g)
    kg1 = base[:n1] + noise * torch.randn(n1, dim, generator=g)
    return torch.cat([kg1, base[:n2]]), n1


def test_alignment_is_one_to_one_and_covers_every_source_with_a_candidate():
    emb, n1 = _space(noise=0.9)
    seeds = np.array([[0, n1], [1, n1 + 1]])
    accepted = np.array([[2, n1 + 2]])
    table = score_table(emb, n1, np.concatenate([seeds, accepted]), exclude=np.array([[3, n1 + 3]]), top=5)
    alignment = predict_alignment(table, {"seed": seeds, "human-accepted": accepted}, Calibrator.unfitted())
    frame = alignment.frame
    assert frame["source"].is_unique and frame["target"].is_unique
    assert set(frame["source"]) == set(range(n1))                   # n2 > n1: every source has a free candidate
    assert not ((frame["source"] == 3) & (frame["target"] == n1 + 3)).any()   # the rejected pair stays out
    by_source = frame.set_index("source")
    assert by_source.loc[0, "provenance"] == "seed" and by_source.loc[2, "provenance"] == "human-accepted"
    assert by_source.loc[0, "probability"] == 1.0
    predicted = alignment.predicted()
    assert predicted["probability"].isna().all()                    # no answers: no probability is invented
    mutual = predicted[predicted["mutual"]]
    for s, t in mutual[["source", "target"]].to_numpy():
        assert table.top_targets[s, 0] == t
    accuracy = (predicted["target"] == predicted["source"] + n1).mean()
    assert accuracy > 0.6


def test_sources_beyond_their_candidate_lists_still_get_a_partner():
    emb, n1 = _space(n1=50, n2=45, noise=2.0, seed=3)
    table = score_table(emb, n1, np.zeros((0, 2), np.int64), top=2)
    frame = predict_alignment(table, {}, Calibrator.unfitted()).frame
    assert len(frame) == 45 and frame["target"].is_unique and frame["source"].is_unique


def test_margin_matches_best_minus_second():
    emb, n1 = _space()
    table = score_table(emb, n1, np.zeros((0, 2), np.int64), top=4)
    s = 5
    csls, margin = table.score(np.array([[s, table.top_targets[s, 0]], [s, table.top_targets[s, 2]]]))
    assert csls[0] == pytest.approx(table.top_scores[s, 0], abs=1e-5)
    assert margin[0] == pytest.approx(table.top_scores[s, 0] - table.top_scores[s, 1], abs=1e-5)
    assert margin[1] == pytest.approx(table.top_scores[s, 2] - table.top_scores[s, 0], abs=1e-5)


def test_export_formats(tmp_path):
    emb, n1 = _space()
    table = score_table(emb, n1, np.array([[0, n1]]))
    rng = np.random.default_rng(0)
    answered = pd.DataFrame({"csls_quantile": rng.uniform(0, 1, 100), "margin_quantile": rng.uniform(0, 1, 100),
                             "trained": np.zeros(100, bool)})
    calibrator = Calibrator.fit(answered, rng.random(100) < answered["csls_quantile"])
    alignment = predict_alignment(table, {"seed": np.array([[0, n1]])}, calibrator)
    entities = [f"kg1:{i}" for i in range(n1)] + [f"kg2:{i}" for i in range(70)]
    records = alignment_records(alignment, entities, min_probability=0.0)
    tsv = alignment_text(records, ".tsv").splitlines()
    assert len(tsv) == len(records) and tsv[0].split("\t") == ["kg1:0", "kg2:0"]
    csv = pd.read_csv(__import__("io").StringIO(alignment_text(records, ".csv")))
    assert list(csv.columns) == ["source", "target", "csls", "margin", "probability", "mutual", "provenance"]
    jsonl = [__import__("json").loads(line) for line in alignment_text(records, ".jsonl").splitlines()]
    assert jsonl[0]["provenance"] == "seed" and jsonl[0]["margin"] is None
    high = alignment_records(alignment, entities, min_probability=0.99)
    assert (high["probability"] >= 0.99).all() and "seed" in set(high["provenance"])
    with pytest.raises(ValueError, match="unknown alignment format"):
        format_of(tmp_path / "x.parquet")


def test_precision_coverage_and_calibration_error():
    predicted = pd.DataFrame({"source": [0, 1, 2, 3], "target": [10, 11, 12, 99], "probability": [0.95, 0.9, 0.6, 0.3]})
    answers = pd.DataFrame({"probability": [0.96, 0.92, 0.5, 0.2], "accepted": [True, True, False, False]})
    gold = {(0, 10), (1, 11), (2, 12), (3, 13)}
    curve = precision_coverage(predicted, 4, answers, gold, np.array([0, 1, 2, 3]), thresholds=(0.0, 0.5, 0.9))
    top = curve[curve["threshold"] == 0.9].iloc[0]
    assert top["links"] == 2 and top["coverage"] == 0.5 and top["true_precision"] == 1.0
    assert top["estimated_precision"] == pytest.approx(0.925) and top["answered"] == 2
    assert curve.iloc[0]["true_precision"] == 0.75
    low, high = wilson_interval(np.array([8]), np.array([10]))
    assert 0.44 < low[0] < 0.5 and 0.94 < high[0] < 0.97               # textbook Wilson 95% for 8/10
    assert expected_calibration_error(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 1, 0, 0])) == pytest.approx(0.1)
