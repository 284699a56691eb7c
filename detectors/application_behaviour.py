"""Abnormal application behaviour: velocity, account age, bot-like filling,
edits between resubmissions, many identities on one device, geo jumps.

Values are raw measures (higher is more abnormal); the scorer compares them
with the population baselines of the loaded model, so "fast" means faster
than most applicants, not faster than a fixed number.
"""

from __future__ import annotations

import math
from bisect import bisect_left

from detectors.signals import Observation, ScoringContext
from graph.vocabulary import DAY, HOUR, node_kind

NAME = "application_behaviour"

WINDOWS: dict[str, float] = {"1h": HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
VELOCITY_KINDS: tuple[str, ...] = ("device", "phone", "ip", "employer")


def _window_counts(times: list[float], as_of: float) -> dict[str, int]:
    # +1: the application being scored is itself one of the applications in the window.
    return {name: len(times) - bisect_left(times, as_of - span) + 1 for name, span in WINDOWS.items()}


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def _velocity(ctx: ScoringContext) -> list[Observation]:
    usage = ctx.usage()
    own = {i.node_id: i.kind for i in ctx.app.identifiers}
    out: list[Observation] = []
    for kind in VELOCITY_KINDS:
        ids = [n for n, k in own.items() if k == kind and n in usage]
        if not ids:
            out.append(Observation(f"velocity_{kind}", 0.0, f"No earlier use of this {kind}.", {}))
            continue
        nid = ids[0]
        counts = _window_counts([t for t, _ in usage[nid].recent], ctx.as_of)
        if kind == "employer":
            # A big employer is busy every day: measure the spike against its own month.
            daily = counts["30d"] / 30.0
            value = counts["24h"] / max(1.0, daily)
            sentence = f"{counts['24h']} application(s) naming this employer in 24 h, {value:.1f}x its daily rate."
        else:
            # A burst on a new identifier is suspicious; the same pace on a kiosk or a
            # carrier IP that has served hundreds for months is its normal.
            novelty = counts["7d"] / (usage[nid].applications + 1)
            value = (math.log1p(counts["24h"] - 1) + 0.5 * math.log1p(counts["7d"] - 1)) * novelty
            sentence = (
                f"{counts['1h']} application(s) from this {kind} in 1 h, {counts['24h']} in 24 h, "
                f"{counts['7d']} in 7 days ({usage[nid].applications + 1} ever)."
            )
        out.append(Observation(f"velocity_{kind}", value, sentence, {"node_id": nid, "windows": counts}))
    earlier = [a.ts for a in ctx.history()]
    counts = _window_counts(earlier, ctx.as_of)
    value = math.log1p(counts["24h"] - 1) + 0.5 * math.log1p(counts["7d"] - 1)
    amounts = [a.amount for a in ctx.history()[-5:] if a.amount is not None] + (
        [ctx.app.amount] if ctx.app.amount is not None else []
    )
    out.append(
        Observation(
            "velocity_applicant",
            value,
            f"The applicant submitted {counts['24h']} application(s) in 24 h and {counts['7d']} in 7 days.",
            {"node_id": f"applicant:{ctx.subject}", "windows": counts, "recent_amounts": amounts},
        )
    )
    return out


def _edits(ctx: ScoringContext) -> Observation:
    history = ctx.history()
    if not history:
        return Observation("frequent_edits", 0.0, "First application of this applicant.", {})
    changes: list[str] = []
    prev_apps = history[-3:]
    for prev in prev_apps:
        if prev.income and ctx.app.income and abs(ctx.app.income - prev.income) / prev.income > 0.15:
            changes.append(f"income {prev.application_id}")
        for kind in ("employer", "phone", "bank_account"):
            before = {i.node_id for i in prev.identifiers if i.kind == kind}
            now = {i.node_id for i in ctx.app.identifiers if i.kind == kind}
            if before and now and before != now:
                changes.append(f"{kind} {prev.application_id}")
    span_days = (ctx.as_of - prev_apps[0].ts) / DAY
    value = len(changes) / (1.0 + span_days / 30.0)
    return Observation(
        "frequent_edits",
        value,
        f"{len(changes)} change(s) of income, employer, phone or bank account across the last "
        f"{len(prev_apps)} resubmission(s) in {span_days:.0f} days.",
        {"changes": changes, "previous": [p.application_id for p in prev_apps]},
    )


def _identities(ctx: ScoringContext) -> Observation:
    usage = ctx.usage()
    devices = [i.node_id for i in ctx.app.identifiers if i.kind == "device" and i.node_id in usage]
    if not devices:
        return Observation("many_identities_device", 0.0, "No earlier use of this device.", {})
    use = usage[devices[0]]
    week = {who for t, who in use.recent if t >= ctx.as_of - 7 * DAY} | {ctx.subject}
    # A burst of identities (all recent) is a farm; the same count spread over months is a kiosk.
    burst = len(week) / max(len(week), use.applicants)
    value = (len(week) - 1) * burst
    return Observation(
        "many_identities_device",
        value,
        f"{len(week)} identities used this device in 7 days ({use.applicants} ever).",
        {"node_id": devices[0], "identities_7d": len(week), "identities_total": use.applicants},
    )


def _geo(ctx: ScoringContext) -> Observation:
    here = ctx.app
    prior = [a for a in ctx.history() if a.lat is not None and a.lon is not None]
    if here.lat is None or here.lon is None or not prior:
        return Observation("geo_jump", 0.0, "No earlier location to compare.", {})
    last = prior[-1]
    assert last.lat is not None and last.lon is not None
    km = _km(last.lat, last.lon, here.lat, here.lon)
    hours = max((ctx.as_of - last.ts) / HOUR, 0.25)
    speed = km / hours
    return Observation(
        "geo_jump",
        speed if km > 50 else 0.0,
        f"{km:.0f} km from the previous application {hours:.1f} h earlier ({speed:.0f} km/h).",
        {"previous": last.application_id, "km": round(km, 1), "hours": round(hours, 2)},
    )


def observe(ctx: ScoringContext) -> list[Observation]:
    app = ctx.app
    out = _velocity(ctx)
    if app.account_created_ts is not None:
        age_h = max(0.0, app.ts - app.account_created_ts) / HOUR
        out.append(
            Observation(
                "young_account",
                -math.log10(age_h + 0.01),
                f"The account was created {age_h:.1f} h before applying.",
                {"account_age_hours": round(age_h, 2)},
            )
        )
    else:
        # Unknown is not young: use the value of a year-old account (neutral in every population seen).
        out.append(Observation("young_account", -math.log10(24 * 365.0), "Account age unknown.", {}))
    if app.form_fill_seconds is not None:
        fill = app.form_fill_seconds
        value = -math.log1p(fill) + 0.3 * math.log1p(app.paste_events or 0)
        out.append(
            Observation(
                "bot_form_fill",
                value,
                f"Form filled in {fill:.0f} s with {app.paste_events or 0} paste(s) and "
                f"{app.field_edits or 0} edit(s).",
                {
                    "form_fill_seconds": fill,
                    "paste_events": app.paste_events,
                    "field_edits": app.field_edits,
                    "session_seconds": app.session_seconds,
                },
            )
        )
    else:
        out.append(Observation("bot_form_fill", -math.log1p(120.0), "No form telemetry.", {}))
    out.append(_edits(ctx))
    out.append(_identities(ctx))
    out.append(_geo(ctx))
    return out


__all__ = ["NAME", "WINDOWS", "node_kind", "observe"]
