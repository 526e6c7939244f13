"""Label budgets written as in the paper: "b%+s%xR" (spec section 8)."""
from __future__ import annotations

import re
from dataclasses import dataclass

_BUDGET = re.compile(r"^\s*(?P<base>\d+(?:\.\d+)?)%\s*(?:\+\s*(?P<step>\d+(?:\.\d+)?)%\s*[x×*]\s*(?P<rounds>\d+))?\s*$")


@dataclass(frozen=True)
class Budget:
    """A base share of all gold links, then ``rounds`` rounds of ``step`` each (fractions)."""

    base: float
    step: float = 0.0
    rounds: int = 0

    @property
    def total(self) -> float:
        """Share of all gold links the schedule may label in the end."""
        return self.base + self.step * self.rounds

    def batch_size(self, n_links: int) -> int:
        """Pairs proposed per round: ``step`` x all gold links (at least one)."""
        return max(1, int(round(self.step * n_links))) if self.rounds else 0

    def __str__(self) -> str:
        text = f"{self.base * 100:g}%"
        return text + (f"+{self.step * 100:g}%x{self.rounds}" if self.rounds else "")


def parse_budget(text: str) -> Budget:
    """``"15%+1%x5"`` -> Budget(0.15, 0.01, 5); ``"20%"`` -> a random base without rounds."""
    match = _BUDGET.match(text)
    if match is None:
        raise ValueError(f"budget {text!r} is not of the form 'b%' or 'b%+s%xR' (e.g. '15%+1%x5')")
    base = float(match["base"]) / 100
    step = float(match["step"]) / 100 if match["step"] else 0.0
    rounds = int(match["rounds"]) if match["rounds"] else 0
    if not 0 < base < 1 or (match["step"] and (not 0 < step < 1 or rounds < 1)):
        raise ValueError(f"budget {text!r}: shares must lie in (0%, 100%) and rounds be >= 1")
    if base + step * rounds >= 1:
        raise ValueError(f"budget {text!r} asks for {100 * (base + step * rounds):g}% of the links, which leaves no test set")
    return Budget(base, step, rounds)
