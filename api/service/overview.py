"""The risk managers' overview: decisions by day, band and action and by channel and
product; alerts and cases by tier or layer, status and age; ring runs.

Every count is made in the store (one grouped query each, see
:meth:`graph.store.case_log.CaseLog.decision_summary`); this module only rolls the
store's groups up into the views. Decisions are the scoring flow's (trigger
``application``): monitoring re-scores are not new decisions on an application.

Ring runs come from the audit log (every run, from the API or the CLI, is audited with
its counts as it reported them): the rings themselves keep only the latest write of each
ring id, so a ring carried into a later run no longer says which runs found it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from api.service.base import DeskBase
from api.service.ring_runs import RING_RUN_AUDIT
from graph.errors import InvalidInput
from graph.store import WorkCount
from graph.vocabulary import DAY

MAX_OVERVIEW_DAYS = 366
RUNS_SHOWN = 30
AGES: tuple[tuple[str, float], ...] = (("<1d", 1 * DAY), ("1-7d", 7 * DAY), ("7-30d", 30 * DAY))
"""Age bands of open alerts and cases, each with the age it ends at; older ones are ``>30d``."""
AGE_NAMES: tuple[str, ...] = (*(name for name, _ in AGES), ">30d")
RESOLVED_ALERT = "resolved"
CLOSED_CASE = "closed"


@dataclass(frozen=True)
class RingRunCount:
    run_id: str
    at: float
    rings: int
    critical: int


@dataclass(frozen=True)
class OverviewCounts:
    since: float
    decisions_by_day: list[tuple[str, str, str, int]]
    """(day, band, action, count), by day, band, action."""
    decisions_by_channel: list[tuple[str | None, str, int]]
    """(channel, band, count); None: not given."""
    decisions_by_product: list[tuple[str | None, str, int]]
    alerts_by_tier_status: list[tuple[str, str, int]]
    """Alerts raised since ``since``, by tier and status now."""
    alerts_open_by_age: list[tuple[str, str, int]]
    """(age, tier, count) of every unresolved alert, by the time it was raised."""
    cases_by_status_layer: list[tuple[str, str, int]]
    """Cases opened since ``since``, by status and layer now."""
    cases_open_by_age: list[tuple[str, str, int]]
    """(age, layer, count) of every case not closed, by the time it was opened."""
    ring_runs: list[RingRunCount]
    """The latest runs, newest first."""
    active_rings: int


def _none_last(value: str | None) -> tuple[bool, str]:
    return value is None, value or ""


def _by_status(counts: Sequence[WorkCount]) -> list[tuple[str, str, int]]:
    """(group, status, count) of the recent ones."""
    total: Counter[tuple[str, str]] = Counter()
    for c in counts:
        if c.recent:
            total[(c.group, c.status)] += c.count
    return [(g, s, n) for (g, s), n in sorted(total.items())]


def _open_by_age(counts: Sequence[WorkCount], done: str) -> list[tuple[str, str, int]]:
    """(age name, group, count) of those not ``done``, youngest first."""
    total: Counter[tuple[int, str]] = Counter()
    for c in counts:
        if c.status != done:
            total[(c.age, c.group)] += c.count
    return [(AGE_NAMES[age], g, n) for (age, g), n in sorted(total.items())]


class Overseeing(DeskBase):
    def overview(self, days: int) -> OverviewCounts:
        """The overview of the last ``days`` UTC days, today included (``since`` is the
        start of the first of them)."""
        if not 1 <= days <= MAX_OVERVIEW_DAYS:
            raise InvalidInput("days", f"between 1 and {MAX_OVERVIEW_DAYS}")
        now = self.now()
        since = (math.floor(now / DAY) - (days - 1)) * DAY
        cutoffs = [now - age for _, age in AGES]

        decisions = self.store.decision_summary(since)
        by_day: Counter[tuple[str, str, str]] = Counter()
        by_channel: Counter[tuple[str | None, str]] = Counter()
        by_product: Counter[tuple[str | None, str]] = Counter()
        for d in decisions:
            by_day[(d.day, d.band, d.action)] += d.count
            by_channel[(d.channel, d.band)] += d.count
            by_product[(d.product, d.band)] += d.count

        alerts = self.store.alert_summary(since, cutoffs)
        cases = self.store.case_summary(since, cutoffs)
        runs = [
            RingRunCount(e.subject, e.at, int(e.detail.get("rings", 0)), int(e.detail.get("critical", 0)))
            for e in self.store.audit_by_action(RING_RUN_AUDIT, RUNS_SHOWN)
        ]
        return OverviewCounts(
            since=since,
            decisions_by_day=[(day, b, a, n) for (day, b, a), n in sorted(by_day.items())],
            decisions_by_channel=[
                (c, b, n) for (c, b), n in sorted(by_channel.items(), key=lambda kv: (_none_last(kv[0][0]), kv[0][1]))
            ],
            decisions_by_product=[
                (p, b, n) for (p, b), n in sorted(by_product.items(), key=lambda kv: (_none_last(kv[0][0]), kv[0][1]))
            ],
            alerts_by_tier_status=_by_status(alerts),
            alerts_open_by_age=_open_by_age(alerts, RESOLVED_ALERT),
            cases_by_status_layer=sorted((s, g, n) for g, s, n in _by_status(cases)),
            cases_open_by_age=_open_by_age(cases, CLOSED_CASE),
            ring_runs=runs,
            active_rings=self.store.stats().get("rings", 0),
        )
