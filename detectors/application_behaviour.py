"""Abnormal application behaviour: velocity, account age, bot-like filling, a form
filled without a correction, a session with little besides the form, edits between
resubmissions, many identities on one device, geo jumps.

Values are raw measures (higher is more abnormal); the scorer compares them
with the population baselines of the loaded model, so "fast" means faster
than most applicants, not faster than a fixed number.
"""

from __future__ import annotations

import math
from bisect import bisect_left

from detectors.signals import Observation, ScoringContext
from detectors.wording import count, duration, kind_word, listing, number
from graph.normalise import NormalisedApplication
from graph.vocabulary import DAY, HOUR, node_kind

NAME = "application_behaviour"

WINDOWS: dict[str, float] = {"1h": HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
VELOCITY_KINDS: tuple[str, ...] = ("device", "phone", "ip", "employer")
EDITED_KINDS: tuple[str, ...] = ("employer", "phone", "bank_account")
"""Identifiers whose change between resubmissions counts as an edit (with income)."""


def _window_counts(times: list[float], at: float) -> dict[str, int]:
    """Uses in each window before ``at`` (sorted ``times``; later ones are not counted).
    +1: the application being scored is itself one of the applications in the window."""
    end = bisect_left(times, at)
    return {name: end - bisect_left(times, at - span) + 1 for name, span in WINDOWS.items()}


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
        if kind not in own.values():
            out.append(Observation(f"velocity_{kind}", 0.0, f"No {kind_word(kind)} given.", {}, known=False))
            continue
        ids = [n for n, k in own.items() if k == kind and n in usage]
        if not ids:
            out.append(Observation(f"velocity_{kind}", 0.0, f"No earlier use of this {kind_word(kind)}.", {}))
            continue
        nid = ids[0]
        counts = _window_counts([t for t, _ in usage[nid].recent], ctx.at)
        if nid in ctx.terminals():
            # The store's own kiosk: its pace is the store's footfall, not the applicant's.
            sentence = (
                f"Made through the {ctx.app.channel} channel on the lender's own {kind_word(kind)}: "
                f"{counts['24h']} applications on it in 24 hours and {usage[nid].applications + 1} in all, "
                "this one included, are the store's, not counted."
            )
            out.append(Observation(f"velocity_{kind}", 0.0, sentence, {"node_id": nid, "windows": counts}))
            continue
        if kind == "employer":
            # A big employer is busy every day: measure the spike against its own month.
            daily = counts["30d"] / 30.0
            value = counts["24h"] / max(1.0, daily)
            sentence = (
                f"{count(counts['24h'], 'application')} naming this employer in 24 hours, this one included; "
                f"{counts['30d']} in 30 days"
                + (f" ({number(value)} times its daily average of {number(daily)})." if daily >= 1.0 else ".")
            )
        else:
            # A burst on a new identifier is suspicious; the same pace on a kiosk or a
            # carrier IP that has served hundreds for months is its normal.
            novelty = counts["7d"] / (usage[nid].applications + 1)
            value = (math.log1p(counts["24h"] - 1) + 0.5 * math.log1p(counts["7d"] - 1)) * novelty
            sentence = (
                f"{count(counts['1h'], 'application')} from this {kind_word(kind)} in the last hour, "
                f"{counts['24h']} in 24 hours, {counts['7d']} in 7 days and "
                f"{usage[nid].applications + 1} in all, this one included."
            )
        out.append(Observation(f"velocity_{kind}", value, sentence, {"node_id": nid, "windows": counts}))
    earlier = [a.ts for a in ctx.history()]
    counts = _window_counts(earlier, ctx.at)
    value = math.log1p(counts["24h"] - 1) + 0.5 * math.log1p(counts["7d"] - 1)
    amounts = [a.amount for a in ctx.history()[-5:] if a.amount is not None] + (
        [ctx.app.amount] if ctx.app.amount is not None else []
    )
    out.append(
        Observation(
            "velocity_applicant",
            value,
            f"The applicant submitted {count(counts['24h'], 'application')} in 24 hours and "
            f"{counts['7d']} in 7 days, this one included.",
            {"node_id": f"applicant:{ctx.subject}", "windows": counts, "recent_amounts": amounts},
        )
    )
    return out


def _edits(ctx: ScoringContext) -> Observation:
    history = ctx.history()
    if not history:
        return Observation("frequent_edits", 0.0, "First application of this applicant.", {})
    changes: list[str] = []
    compared: set[str] = set()
    prev_apps = history[-3:]
    for prev in prev_apps:
        if prev.income and ctx.app.income:
            compared.add("income")
            if abs(ctx.app.income - prev.income) / prev.income > 0.15:
                changes.append(f"income {prev.application_id}")
        for kind in EDITED_KINDS:
            before = {i.node_id for i in prev.identifiers if i.kind == kind}
            now = {i.node_id for i in ctx.app.identifiers if i.kind == kind}
            if before and now:
                compared.add(kind)
                if before != now:
                    changes.append(f"{kind} {prev.application_id}")
    span = ctx.at - prev_apps[0].ts
    value = len(changes) / (1.0 + span / DAY / 30.0)
    evidence = {"changes": changes, "previous": [p.application_id for p in prev_apps]}
    earlier = (
        f"the earlier application ({duration(span)} before)"
        if len(prev_apps) == 1
        else f"the last {len(prev_apps)} earlier applications (the oldest {duration(span)} before)"
    )
    if not compared:
        # Nothing was given on both sides: no change seen is not no change made.
        sentence = f"No income, employer, phone or bank account given both here and in {earlier}."
        return Observation("frequent_edits", value, sentence, evidence, known=False)
    fields = listing([f if f == "income" else kind_word(f) for f in ("income", *EDITED_KINDS) if f in compared], "or")
    return Observation(
        "frequent_edits",
        value,
        f"{count(len(changes), 'difference')} in {fields} from {earlier}.",
        evidence,
    )


def _identities(ctx: ScoringContext) -> Observation:
    usage = ctx.usage()
    given = [i.node_id for i in ctx.app.identifiers if i.kind == "device"]
    if not given:
        return Observation("many_identities_device", 0.0, "No device given.", {}, known=False)
    devices = [n for n in given if n in usage]
    if not devices:
        return Observation("many_identities_device", 0.0, "No earlier use of this device.", {})
    use = usage[devices[0]]
    week = {who for t, who in use.recent if ctx.at - 7 * DAY <= t < ctx.at} | {ctx.subject}
    # A burst of identities (all recent) is a farm; the same count spread over months is a kiosk.
    burst = len(week) / max(len(week), use.applicants)
    value = (len(week) - 1) * burst
    return Observation(
        "many_identities_device",
        value,
        f"{count(len(week), 'identity', 'identities')} used this device in the last 7 days, this applicant "
        f"included; {count(use.applicants, 'applicant')} had used it before this application.",
        {"node_id": devices[0], "identities_7d": len(week), "identities_total": use.applicants},
    )


def _geo(ctx: ScoringContext) -> Observation:
    here = ctx.app
    history = ctx.history()
    prior = [a for a in history if a.lat is not None and a.lon is not None]
    if here.lat is None or here.lon is None:
        return Observation("geo_jump", 0.0, "Location of this application unknown.", {}, known=False)
    if not history:
        return Observation("geo_jump", 0.0, "First application of this applicant: no earlier location.", {})
    if not prior:
        return Observation("geo_jump", 0.0, "Location of the earlier applications unknown.", {}, known=False)
    last = prior[-1]
    assert last.lat is not None and last.lon is not None
    km = _km(last.lat, last.lon, here.lat, here.lon)
    elapsed = max(0.0, ctx.at - last.ts)
    # Under a quarter of an hour the time is too coarse to divide by: the speed is a floor.
    hours = max(elapsed / HOUR, 0.25)
    speed = km / hours
    return Observation(
        "geo_jump",
        speed if km > 50 else 0.0,
        f"{km:.0f} km from where application {last.application_id} was made {duration(elapsed)} earlier "
        f"({speed:.0f} km/h{' or more' if elapsed < 0.25 * HOUR else ''}).",
        {"previous": last.application_id, "km": round(km, 1), "hours": round(hours, 2)},
    )


NEUTRAL_FIELD_EDITS = 2
"""The value an unknown edit count keeps: two edits, the usual for an honest form."""
NEUTRAL_SESSION_EXTRA = 120.0
"""The value an unknown session keeps: two minutes beyond the form, the usual."""


def _field_edits(app: NormalisedApplication) -> Observation:
    # A person corrects a field or two while typing; a form filled from a prepared sheet
    # or a script has nothing to correct. Fewer edits is the higher value.
    if app.field_edits is None:
        value = -math.log1p(NEUTRAL_FIELD_EDITS)
        return Observation("few_field_edits", value, "Field edits while filling the form unknown.", {}, known=False)
    edits = max(0, app.field_edits)
    sentence = (
        "No field edited while filling the form."
        if edits == 0
        else f"{count(edits, 'field edit')} while filling the form."
    )
    return Observation("few_field_edits", -math.log1p(edits), sentence, {"field_edits": app.field_edits})


def _session(app: NormalisedApplication) -> Observation:
    # Time in the session besides filling the form: reading the offer, the terms, checking.
    # Someone who only submits has little of it. A shorter extra time is the higher value.
    if app.session_seconds is None or app.form_fill_seconds is None:
        missing = "Session length unknown." if app.session_seconds is None else "Form-filling time unknown."
        return Observation("short_session", -math.log1p(NEUTRAL_SESSION_EXTRA), missing, {}, known=False)
    extra = app.session_seconds - app.form_fill_seconds
    evidence = {"session_seconds": app.session_seconds, "form_fill_seconds": app.form_fill_seconds}
    if extra <= 0:
        sentence = (
            f"The session ({duration(app.session_seconds)}) was no longer than filling the form "
            f"({duration(app.form_fill_seconds)})."
        )
    else:
        sentence = (
            f"The session lasted {duration(extra)} besides the {duration(app.form_fill_seconds)} of filling the form."
        )
    return Observation("short_session", -math.log1p(max(0.0, extra)), sentence, evidence)


def _account_age_sentence(age: float) -> str:
    if age > 0:
        return f"The account was created {duration(age)} before applying."
    if age < 0:
        # The clocks disagree; the value treats it as an account made at the moment of applying.
        return f"The account was created {duration(-age)} after the application was submitted."
    return "The account was created at the moment of applying."


def observe(ctx: ScoringContext) -> list[Observation]:
    app = ctx.app
    out = _velocity(ctx)
    if app.account_created_ts is not None:
        age = app.ts - app.account_created_ts
        age_h = max(0.0, age) / HOUR
        out.append(
            Observation(
                "young_account",
                -math.log10(age_h + 0.01),
                _account_age_sentence(age),
                {"account_age_hours": round(age_h, 2)},
            )
        )
    else:
        # Unknown is not young: use the value of a year-old account (neutral in every population seen).
        out.append(Observation("young_account", -math.log10(24 * 365.0), "Account age unknown.", {}, known=False))
    if app.form_fill_seconds is not None:
        fill = app.form_fill_seconds
        value = -math.log1p(fill) + 0.3 * math.log1p(app.paste_events or 0)
        pastes = "paste events unknown" if app.paste_events is None else count(app.paste_events, "paste event")
        edits = "field edits unknown" if app.field_edits is None else count(app.field_edits, "field edit")
        out.append(
            Observation(
                "bot_form_fill",
                value,
                f"Form filled in {duration(fill)} ({edits}, {pastes}).",
                {
                    "form_fill_seconds": fill,
                    "paste_events": app.paste_events,
                    "field_edits": app.field_edits,
                    "session_seconds": app.session_seconds,
                },
            )
        )
    else:
        out.append(Observation("bot_form_fill", -math.log1p(120.0), "Form-filling time unknown.", {}, known=False))
    out.append(_field_edits(app))
    out.append(_session(app))
    out.append(_edits(ctx))
    out.append(_identities(ctx))
    out.append(_geo(ctx))
    return out


__all__ = ["NAME", "WINDOWS", "node_kind", "observe"]
