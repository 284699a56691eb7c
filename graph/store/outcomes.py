"""The outcomes seam: what became of each loan, and when the lender knew it.

An outcome (``repaid``, ``first_payment_default``, ``charged_off``, ``fraud_confirmed``,
``chargeback``) is recorded per application with ``known_at``, the time the lender learned
it. Outcomes are append-only facts (a later outcome does not erase an earlier one), so
training can ask what was known by any date (:meth:`Outcomes.outcomes` ``known_by``) and
never use a label that was not known yet. Which outcomes count as fraud is the desk's
configuration (``fraud_outcomes``), not the store's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

OUTCOMES: tuple[str, ...] = ("repaid", "first_payment_default", "charged_off", "fraud_confirmed", "chargeback")


@dataclass(frozen=True, slots=True)
class Outcome:
    application_id: str
    outcome: str
    known_at: float
    """When the lender learned it (epoch seconds)."""
    recorded_at: float
    by: str
    reason: str = ""


class Outcomes(ABC):
    @abstractmethod
    def record_outcome(self, outcome: Outcome) -> None:
        """Append one outcome (the same application may have several)."""

    @abstractmethod
    def outcomes(self, known_by: float | None = None, application_id: str | None = None) -> list[Outcome]:
        """Outcomes known at or before ``known_by`` (every one when None), of one application
        when given; ordered by ``known_at``, then application id, then recording time."""
