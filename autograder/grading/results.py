"""Results of grading, as plain dataclasses that every output format reads."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class CheckResult:
    name: str
    category: str
    passed: bool
    hidden: bool
    message: str = ""
    weight: float = 1.0


@dataclass
class ItemResult:
    id: str
    score: float
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)


@dataclass
class SubmissionResult:
    id: str
    path: str
    score: float
    max_score: float
    error: str | None
    items: list[ItemResult]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        items = [ItemResult(**{**i, "checks": [CheckResult(**c) for c in i["checks"]]}) for i in data["items"]]
        return cls(**{**data, "items": items})


@dataclass
class RunResult:
    assignment: str
    max_score: float
    seed: int
    submissions: list[SubmissionResult]
    sandbox: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)
