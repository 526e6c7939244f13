"""A training step that encodes only its batch's rows (issue 14: training at 100k per side).

Every loss of a step reads the rows of its labelled pairs and hard negatives (the fusion's
InfoNCE, the VAE's latent losses on a sample of the pairs), yet the whole-pair step encodes
every entity and pays for every one in the backward pass: each read of the (N, d)
modality embeddings is a zero-filled (N, d) gradient (28 per step, 1.4 s of a 9 s step on
the 60k-per-side synthetic pair, torch profiler), and the GAT runs over the whole graph.
Here the step's inputs are those rows, and the GAT computes, layer by layer, only the nodes
the next layer reads (``AlignmentInputs.batch``); the rows get exactly the whole-pair
embeddings, so the losses and gradients are the same (``bench/scale.py`` times both epochs).
"""
from __future__ import annotations

import torch

from almea.model.inputs import AlignmentInputs


def batch_inputs(
    inputs: AlignmentInputs, pairs: torch.Tensor, negatives: torch.Tensor | None, hops: int
) -> tuple[AlignmentInputs, torch.Tensor, torch.Tensor | None]:
    """The inputs of the rows that ``pairs`` (B, 2) and ``negatives`` (K,) name, and both
    renumbered into those rows, for a model whose GAT has ``hops`` layers."""
    named = pairs.flatten() if negatives is None else torch.cat([pairs.flatten(), negatives])
    rows = torch.unique(named)
    local_pairs = torch.searchsorted(rows, pairs.contiguous())
    local_negatives = None if negatives is None else torch.searchsorted(rows, negatives.contiguous())
    return inputs.batch(rows, hops), local_pairs, local_negatives
