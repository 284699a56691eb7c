"""Layered review: which outcomes a case may end in, which layer may decide each, and
which layer each role reviews at. Pure rules, no store: the casework module applies them.

Defaults (DESIGN §5a): an analyst may decide ``watch`` and ``clear``; a senior reviewer
``limit_reduce`` and ``confirmed_fraud``; the committee ``freeze`` and ``close``, and a
limit cut beyond ``committee_limit_share`` of the limit. A higher layer may decide
whatever a lower one may. ``confirmed_fraud``, ``freeze`` and ``close`` confirm fraud on
the subject; ``clear`` clears it; the graded actions are recommendations to the lending
system. The layers of outcomes are configuration
(``RINGSIGHT_CASE_OUTCOME_LAYERS``, a JSON object).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from graph.errors import InvalidInput
from graph.vocabulary import CASE_LAYERS

CUSTOMER_ACTIONS: tuple[str, ...] = ("watch", "limit_reduce", "freeze", "close")
"""Graded actions on an existing customer, mildest first: recorded as the desk's
recommendation to the lending system."""
LABEL_OUTCOMES: tuple[str, ...] = ("clear", "confirmed_fraud")
"""Outcomes that label the case's subject."""
OUTCOMES: tuple[str, ...] = (*CUSTOMER_ACTIONS, *LABEL_OUTCOMES)
APPEAL_OUTCOMES: tuple[str, ...] = ("upheld", "rejected")
"""How a decision on an appeal ends."""

DEFAULT_OUTCOME_LAYERS: dict[str, str] = {
    "watch": "analyst",
    "clear": "analyst",
    "limit_reduce": "senior",
    "confirmed_fraud": "senior",
    "freeze": "committee",
    "close": "committee",
}

ROLE_LAYERS: dict[str, str] = {
    "investigator": "analyst",
    "admin": "analyst",
    "senior": "senior",
    "committee": "committee",
}
"""The layer each role reviews at (a scorer reviews nothing)."""


def layer_rank(layer: str) -> int:
    return CASE_LAYERS.index(layer)


@dataclass(frozen=True)
class ReviewPolicy:
    outcome_layers: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_OUTCOME_LAYERS))
    committee_limit_share: float = 0.5
    """A limit cut of more than this share of the limit needs the committee."""
    fraud_outcomes: frozenset[str] = frozenset({"confirmed_fraud", "freeze", "close"})
    """Outcomes that confirm fraud: deciding one labels the subject ``confirmed_fraud`` (an
    account is frozen or closed for fraud; a watch or a limit cut is risk management)."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.outcome_layers) - set(OUTCOMES))
        if unknown:
            raise InvalidInput("case_outcome_layers", f"unknown outcomes {unknown}; outcomes are {list(OUTCOMES)}")
        bad = sorted(o for o, layer in self.outcome_layers.items() if layer not in CASE_LAYERS)
        if bad:
            raise InvalidInput("case_outcome_layers", f"{bad}: a layer is one of {list(CASE_LAYERS)}")
        if not 0.0 < self.committee_limit_share <= 1.0:
            raise InvalidInput("case_committee_limit_share", "must be in (0, 1]")

    @classmethod
    def of(cls, outcome_layers: Mapping[str, str] | None, committee_limit_share: float = 0.5) -> ReviewPolicy:
        """The defaults overridden by the configured layers."""
        return cls({**DEFAULT_OUTCOME_LAYERS, **(outcome_layers or {})}, committee_limit_share)

    def layer_for(self, outcome: str, limit_share: float | None = None) -> str:
        """The lowest layer that may decide ``outcome``."""
        layer = self.outcome_layers[outcome]
        if outcome == "limit_reduce" and limit_share is not None and limit_share > self.committee_limit_share:
            return "committee"
        return layer

    @staticmethod
    def layer_of(role: str) -> str | None:
        """The layer a role reviews at; None for roles that review nothing."""
        return ROLE_LAYERS.get(role)

    @staticmethod
    def may(layer: str, required: str) -> bool:
        """Whether a reviewer at ``layer`` may decide what ``required`` may."""
        return layer_rank(layer) >= layer_rank(required)
