"""Prompt experiments: each conversation gets one variant, by a stable hash of its id, for its whole life.

The same conversation id always lands in the same variant, on any worker and after restarts, without storing
the assignment; the variant is recorded on every conversation event so outcomes can be compared per variant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from shopkeep.settings import ExperimentSettings


@dataclass(frozen=True)
class Experiment:
    """``variants``: name -> the prompt versions it pins per agent; ``weights``: traffic shares (equal if empty)."""

    name: str = ""
    variants: dict[str, dict[str, int]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(self.variants)
        if unknown:
            raise ValueError(f"experiment weights name unknown variants: {sorted(unknown)}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("experiment weights must not be negative")
        if self.variants and self.weights and sum(self.weights.values()) <= 0:
            raise ValueError("experiment weights must add up to more than zero")

    @classmethod
    def from_settings(cls, settings: ExperimentSettings) -> Experiment:
        if not settings.name:
            return cls()
        variants = settings.variants or {"control": {}}
        return cls(settings.name, dict(variants), dict(settings.weights))

    @property
    def active(self) -> bool:
        return bool(self.name and self.variants)

    def assign(self, conversation_id: str) -> str | None:
        """The conversation's variant (None when no experiment runs)."""
        if not self.active:
            return None
        names = sorted(self.variants)
        weights = [self.weights.get(n, 1.0) if self.weights else 1.0 for n in names]
        digest = hashlib.sha256(f"{self.name}:{conversation_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * sum(weights)
        for name, weight in zip(names, weights, strict=True):
            if point < weight:
                return name
            point -= weight
        return names[-1]
