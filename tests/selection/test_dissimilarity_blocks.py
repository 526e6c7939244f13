"""The blocked dissimilarity matrix and sparsity weight equal the whole-matrix formulas."""
from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from almea.selection import dissimilarity
from almea.selection.dissimilarity import dissimilarity_matrix, sparsity_weight


@pytest.mark.parametrize("block", [1 << 22, 50, 7])                  # one block; rows and tiles split
def test_blocks_equal_the_whole_matrix(monkeypatch, block) -> None:
    g = torch.Generator().manual_seed(0)
    h_source, h_target = (F.normalize(torch.randn(37, 8, generator=g), dim=1) for _ in range(2))
    monkeypatch.setattr(dissimilarity, "BUILD_BLOCK", block)
    a = dissimilarity_matrix(h_source, h_target)
    whole = (torch.cdist(h_source.double(), h_source.double()) ** 2 + torch.cdist(h_target.double(), h_target.double()) ** 2) / 2
    torch.testing.assert_close(a.double(), whole.fill_diagonal_(0), atol=1e-5, rtol=0)
    assert torch.equal(a, a.t()) and (a >= 0).all() and (a.diagonal() == 0).all()
    frobenius = float(torch.linalg.matrix_norm(a.double()))
    assert sparsity_weight(a, 0.35) == pytest.approx(0.35 * frobenius / math.sqrt(37), rel=1e-12)
