"""Ring-detection parameters, the identifier kinds that link rings and the confidence weights.

See :mod:`detectors.rings` for what a run does with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from graph.errors import InvalidInput
from graph.vocabulary import IDENTIFIER_KINDS

NAME = "rings"
RING_KINDS: tuple[str, ...] = ("device", "phone", "email", "bank_account", "address")
"""Identifier kinds that link applicants into rings. Employers and IPs do not:
thousands share an employer, and homes, offices and carriers share IPs."""

END_OF_TIME = 253402300800.0
"""9999-12-31: ``as_of`` for whole-history reads."""

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``; ``total`` 0 means the size is not known."""

EVENTS: tuple[str, ...] = ("new", "same", "grown", "shrunk", "changed", "split", "merged")

DEFAULT_WEIGHTS: dict[str, float] = {
    "bias": -13.0,
    "compression": 6.0,
    "young_accounts": 5.0,
    "hurried_forms": 5.0,
    "few_edits": 5.0,
    "shared_kinds": 3.0,
    "fraud_evidence": 8.0,
    "size": 7.0,
}


@dataclass(frozen=True)
class RingParams:
    """Ring-detection parameters; the defaults are what a scheduled run uses.

    ``kinds``                 identifier kinds that link applicants.
    ``min_members``           smallest ring reported (a pair is never a ring).
    ``max_ring_size``         components larger than this are split with Louvain.
    ``threshold``             ring confidence from which a part is reported as a ring.
    ``critical``              ring score from which a ring is critical (exit code, report).
    ``loss_scale``            expected loss, in average loans, at which the ring score is 0.5.
    ``young_account_days``    an account younger than this at its first application is young.
    ``compression_days``      time constant of the compression strength.
    ``core_share``            share of members whose first applications define the core span.
    ``scripted_fill_seconds`` a form filled faster than this is scripted.
    ``scripted_share``        share of scripted applications that makes a one-kind part a scripted burst.
    ``keep_id_overlap``       a ring keeps a previous ring's id when they share at least this share
                              of the smaller of the two (and it is the best match).
    ``louvain_seed``          seed of the Louvain split, so reruns split the same way.
    ``hurried_fill_seconds``  a form filled faster than this is hurried.
    ``amount_sample``         applicants sampled (by key, deterministically) for the population
                              mean amount the ``amount_ratio`` feature compares with (a key-range
                              sample, ``store.applicants_below``); 0 leaves the ratio out.
    ``weights``               the ring confidence's logistic weights (see the module docstring).
    ``look_alike_similarity`` Jaccard similarity of two applicants' specific identifiers from which
                              the pair is listed as a look-alike lead (``store.look_alikes``:
                              GDS node similarity and degree on Neo4j).
    """

    kinds: tuple[str, ...] = RING_KINDS
    min_members: int = 3
    max_ring_size: int = 60
    threshold: float = 0.75
    critical: float = 0.6
    loss_scale: float = 20.0
    young_account_days: float = 7.0
    compression_days: float = 14.0
    core_share: float = 0.75
    scripted_fill_seconds: float = 10.0
    hurried_fill_seconds: float = 40.0
    scripted_share: float = 0.8
    keep_id_overlap: float = 0.5
    louvain_seed: int = 42
    look_alike_similarity: float = 0.6
    amount_sample: int = 2000
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(IDENTIFIER_KINDS))
        if not self.kinds or unknown:
            raise InvalidInput("kinds", f"unknown identifier kinds {unknown}" if unknown else "must not be empty")
        checks = {
            "min_members": self.min_members >= 2,
            "max_ring_size": self.max_ring_size >= self.min_members,
            "threshold": 0.0 <= self.threshold <= 1.0,
            "critical": 0.0 <= self.critical <= 1.0,
            "young_account_days": self.young_account_days > 0,
            "compression_days": self.compression_days > 0,
            "core_share": 0.0 < self.core_share <= 1.0,
            "scripted_fill_seconds": self.scripted_fill_seconds >= 0,
            "scripted_share": 0.0 < self.scripted_share <= 1.0,
            "keep_id_overlap": 0.0 < self.keep_id_overlap <= 1.0,
            "amount_sample": self.amount_sample >= 0,
            "loss_scale": self.loss_scale > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise InvalidInput(name, f"out of range: {getattr(self, name)!r}")
        if set(self.weights) != set(DEFAULT_WEIGHTS):
            raise InvalidInput("weights", f"must name exactly {', '.join(sorted(DEFAULT_WEIGHTS))}")

    def with_overrides(self, **overrides: Any) -> RingParams:
        """A copy with the given fields changed; ``None`` values are ignored."""
        known = {f.name for f in fields(self)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise InvalidInput(bad[0], "not a ring parameter")
        changes = {k: v for k, v in overrides.items() if v is not None}
        if "kinds" in changes:
            changes["kinds"] = tuple(changes["kinds"])
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["kinds"] = list(self.kinds)
        return body
