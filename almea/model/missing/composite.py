"""A missing-modality strategy as the model holds it: its parts in order, and its name in
every checkpoint so that one strategy's weights never load into another's model."""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from almea.model.missing.base import Hidden, MissingModality, Presence, TrainingStep


class MissingModalities(nn.Module):
    """The parts of ``name`` (``maco+vae``: MACO, then the VAE), composed."""

    def __init__(self, name: str, parts: list[MissingModality]) -> None:
        super().__init__()
        self.name = name
        self.parts = nn.ModuleDict({part.name: part for part in parts})

    @property
    def reads_pair_rows_only(self) -> bool:
        """Whether every part's losses read only the step's pair rows (``MissingModality``)."""
        return all(part.reads_pair_rows_only for part in self.parts.values())

    def complete(self, hidden: Hidden, present: Presence) -> Hidden:
        """Each part fills what is still missing after the parts before it."""
        for part, available, fill in self._plan(present):
            hidden = part.complete(hidden, available, fill)
        return hidden

    def filled(self, present: Presence) -> dict[str, Presence]:
        """Part name -> the (N,) rows per modality it fills at inference (only parts that fill)."""
        return {part.name: fill for part, _, fill in self._plan(present)}

    def _plan(self, present: Presence) -> Iterator[tuple[MissingModality, Presence, Presence]]:
        """(part, rows available before it, rows it fills) for each part that fills any."""
        available = dict(present)
        for part in self.parts.values():
            fill = part.fills(available)
            if fill:
                yield part, dict(available), fill
                available.update({m: available[m] | rows for m, rows in fill.items()})

    def losses(self, step: TrainingStep) -> dict[str, torch.Tensor]:
        terms: dict[str, torch.Tensor] = {}
        for part in self.parts.values():
            terms.update(part.losses(step))
        return terms

    def get_extra_state(self) -> dict:
        return {"strategy": self.name}

    def set_extra_state(self, state: dict) -> None:
        """Refuse a checkpoint of another strategy before its weights are read: parameter
        names would differ or, worse, coincide with another meaning."""
        saved = state.get("strategy")
        if saved != self.name:
            raise ValueError(
                f"this checkpoint was trained with missing-modality strategy {saved!r}, but this model uses "
                f"{self.name!r}: build the model with ModelConfig(missing={saved!r}) to load it, or train a new one"
            )
