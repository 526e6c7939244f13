"""A whole active-learning round on the 30k-per-side synthetic pair through the approximate path.

About two minutes on 2 cores (over the default suite's one-minute allowance), so it runs
under the ``slow`` marker, which CI runs. The approximate steps must agree with the exact
ones on the same embeddings: Hits@1 within 0.01 of the exact ranking, each side's search
(32 wide: the r terms and the CSLS candidates) at recall >= 0.85 against exact search, and
one index per KG built for all of the round's steps.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from almea.active import ActiveLearner, LearnerConfig
from almea.data.synthetic_scale import scale_pair
from almea.evaluation.metrics import alignment_metrics
from almea.model.config import TrainConfig
from almea.neighbours import NeighbourConfig
from almea.training.split import split_links

pytestmark = pytest.mark.slow


def test_a_30k_round_through_the_index_matches_the_exact_path(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ALMEA_CACHE_DIR", str(tmp_path))
    pair = scale_pair(30_000)
    config = LearnerConfig(train=TrainConfig(eval_every=0), neighbours=NeighbourConfig(force=True))
    learner = ActiveLearner(pair, config, progress=False)
    split = split_links(pair.links, 0.3, 0)
    labelled, none = split.base(0.2), np.zeros((0, 2), np.int64)
    learner.train(labelled, 3)

    embeddings = learner.embeddings()
    table = learner.score_table(embeddings, labelled, none)
    batch = learner.select(100, labelled, none, split.test, np.random.default_rng(0))
    evidence = learner.evidence(batch.pairs, table=table)
    metrics = learner.evaluate(split.test)
    assert learner.indexes(embeddings).builds == 2

    taken = np.concatenate([labelled, split.test])
    assert len(batch) == 100
    assert not np.isin(batch.pairs[:, 0], taken[:, 0]).any() and not np.isin(batch.pairs[:, 1], taken[:, 1]).any()
    assert all(len(e["alternatives"]) == 5 for e in evidence)
    for side in ("source_index", "target_index"):
        assert table.search[side]["index"] == "faiss-hnsw" and table.search[side]["recall@32"] >= 0.85
        assert metrics["ranking"][side]["recall@32"] >= 0.85

    exact = alignment_metrics(embeddings, torch.as_tensor(split.test))
    assert exact["ranking"]["ranked"] == "exact" and metrics["ranking"]["ranked"] == "index"
    assert exact["l2r"]["hits@1"] > 0.3                          # a model that learned, not chance
    for direction in ("l2r", "r2l"):
        assert metrics[direction]["hits@1"] == pytest.approx(exact[direction]["hits@1"], abs=0.01)
