"""Seeded random inputs: fresh each grading run, replayable from the recorded seed."""
from __future__ import annotations

import hashlib
import random

import torch


def derive_seed(run_seed: int, *parts: str) -> int:
    digest = hashlib.sha256(":".join([str(run_seed), *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


class Inputs:
    """Random inputs for one check; nothing here touches the global random state."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.py = random.Random(seed)

    def sizes(self, count: int, low: int = 2, high: int = 12) -> list[int]:
        """``count`` distinct sizes in [low, high], so N != M != D."""
        return self.py.sample(range(low, high + 1), count)

    def randn(self, *shape: int, dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
        return (torch.randn(_size(shape), generator=self.generator, dtype=torch.float64) * scale).to(dtype)

    def rand(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.rand(_size(shape), generator=self.generator, dtype=torch.float64).to(dtype)

    def randint(self, low: int, high: int, *shape: int) -> torch.Tensor:
        return torch.randint(low, high, shape, generator=self.generator)

    def choice(self, options: list):
        return self.py.choice(options)


def _size(shape: tuple) -> tuple[int, ...]:
    """``randn(2, 3)``, ``randn((2, 3))``, ``randn(t.shape)`` and ``randn()`` (0-dim) alike."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def noncontiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values in a non-contiguous layout (every other element of a wider buffer)."""
    wide = torch.zeros(*t.shape[:-1], 2 * t.shape[-1], dtype=t.dtype) if t.dim() else t.clone()
    if not t.dim():
        return wide
    view = wide[..., ::2]
    view.copy_(t)
    return view
