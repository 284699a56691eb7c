"""Shared-identifier rings around one applicant.

A shared identifier is evidence in proportion to its *specificity*: a device
shared by three strangers is strong, a phone shared by a household weaker
(it ages: household members apply months apart), an employer shared by
thousands is nothing. Identifiers used by more than ``hub_limit``
applicants are hubs: counted, never expanded. Allow-listed identifiers
(kiosks, office IPs, households an investigator cleared) are ignored.

The ring is everyone within two applicant hops over specific identifiers;
its size, density and share of confirmed fraud are measured.
"""

from __future__ import annotations

import math
from itertools import combinations

from detectors.signals import Observation, ScoringContext
from detectors.wording import count, duration, identifier, is_are, listing, percent
from graph.vocabulary import BLOCKING_STATUSES, CONFIRMED_FRAUD, DAY, applicant_node, node_kind

NAME = "shared_identifier_ring"
RECENT = 14 * DAY


def _allow_listed(ctx: ScoringContext, node_ids: list[str]) -> set[str]:
    return {n for n, label in ctx.labels(node_ids).items() if label.status in BLOCKING_STATUSES}


def _shared_sentence(ctx: ScoringContext, shared: list[str], weight: float) -> str:
    if not shared:
        return "Shares no identifier with other applicants."
    usage = ctx.usage()
    named = []
    for nid in shared[:3]:
        use = usage[nid]
        # A hub lists no members, so whether this applicant is among its users is not known.
        who = (
            f"(a hub of {count(use.applicants, 'applicant')} before this application)"
            if not use.members
            else f"with {count(use.applicants - (ctx.subject in use.members), 'other applicant')}"
        )
        named.append(f"{identifier(node_kind(nid), ctx.display(nid))} {who}")
    rest = len(shared) - len(named)
    return (
        f"Shares {count(len(shared), 'identifier')} with other applicants (weighted by specificity and recency: "
        f"{weight:.2f}): {listing(named)}" + (f" and {rest} more." if rest else ".")
    )


def _size_sentence(others: int, capped: bool, cap: int) -> str:
    if not others:
        return "No other applicant is linked to this one by specific identifiers."
    return (
        f"{'At least ' if capped else ''}{count(others, 'other applicant')} linked to this one by specific "
        "identifiers, directly or through one other applicant"
        + (f" (the ring is read up to {cap} applicants)." if capped else ".")
    )


def _density_sentence(size: int, pairs: int, possible: int, density: float) -> str:
    if size < 2:
        return "No ring around the applicant: no other applicant is linked by a specific identifier."
    if size == 2:
        return "The ring around the applicant has 2 applicants, too few to measure its density."
    return (
        f"The ring around the applicant is {percent(density)} dense: {pairs} of the {possible} pairs "
        f"of its {size} applicants share a specific identifier."
    )


def _fraud_share_sentence(fraud: int, members: int) -> str:
    if members == 0:
        return "No other applicant in a ring with this one."
    if members == 1:
        return f"The one other ring member is {'' if fraud else 'not '}confirmed fraud."
    return f"{fraud} of the {members} other ring members {is_are(fraud)} confirmed fraud."


def observe(ctx: ScoringContext) -> list[Observation]:
    usage = ctx.usage()
    ids = sorted(usage)
    skipped = _allow_listed(ctx, ids)
    shared_weight = 0.0
    shared: list[dict[str, object]] = []
    first_hop: set[str] = set()
    for nid in ids:
        use = usage[nid]
        others = use.applicants - (1 if ctx.subject in use.members else 0)
        if others <= 0 or nid in skipped:
            continue
        spec = ctx.specificity(nid, others + 1)
        age_days = max(0.0, ctx.as_of - use.last_ts) / DAY
        recency = math.exp(-age_days / ctx.recency_days(nid))
        weight = spec * recency * min(others, 5)
        shared_weight += weight
        shared.append(
            {
                "node_id": nid,
                "applicants": others + 1,
                "specificity": round(spec, 3),
                "last_used_days_ago": round(age_days, 2),
            }
        )
        if spec >= ctx.params.ring_min_specificity:
            first_hop.update(m for m in use.members if m != ctx.subject)

    ring = {ctx.subject} | first_hop
    specific_ids = {
        n
        for n in ids
        if usage[n].members
        and n not in skipped
        and ctx.specificity(n, usage[n].applicants + 1) >= ctx.params.ring_min_specificity
    }
    if first_hop:
        second_ids = ctx.neighbours(sorted(first_hop))
        more = sorted({n for ns in second_ids.values() for n in ns} - set(ids))
        more_usage = ctx.far_usage(more)
        skipped2 = _allow_listed(ctx, sorted(more_usage))
        for nid in sorted(more_usage):
            use = more_usage[nid]
            specific = ctx.specificity(nid, use.applicants) >= ctx.params.ring_min_specificity
            if use.members and nid not in skipped2 and specific:
                specific_ids.add(nid)
                for member in use.members:
                    if len(ring) >= ctx.params.ring_cap:
                        break
                    ring.add(member)
        usage = {**usage, **more_usage}

    pairs: set[tuple[str, str]] = set()
    own_ids = {i.node_id for i in ctx.app.identifiers}
    for nid in specific_ids:
        inside = {m for m in usage[nid].members if m in ring}
        if nid in own_ids:
            inside.add(ctx.subject)
        pairs.update(combinations(sorted(inside), 2))
    size = len(ring)
    possible = size * (size - 1) / 2
    density = len(pairs) / possible if possible else 0.0
    members = sorted(ring - {ctx.subject})
    # Rings apply in bursts; households and re-applicants spread over months.
    active = sorted(
        {
            who
            for nid in specific_ids
            for ts, who in usage[nid].recent
            if who in ring and who != ctx.subject and ts >= ctx.as_of - RECENT
        }
    )
    fraud = [m for m, lab in ctx.labels([applicant_node(m) for m in members]).items() if lab.status == CONFIRMED_FRAUD]
    share = len(fraud) / len(members) if members else 0.0

    by_specificity = sorted(shared, key=lambda s: -float(s["specificity"]))  # type: ignore[arg-type]
    evidence_ids = by_specificity[:10]
    others = size - 1
    return [
        Observation(
            "shared_identifier",
            shared_weight,
            _shared_sentence(ctx, [str(s["node_id"]) for s in by_specificity], shared_weight),
            {"identifiers": evidence_ids},
        ),
        Observation(
            "ring_size",
            float(size - 1),
            _size_sentence(others, size >= ctx.params.ring_cap, ctx.params.ring_cap),
            {"members": [applicant_node(m) for m in members[:50]], "size": size},
        ),
        Observation(
            "ring_density",
            density if size >= 3 else 0.0,
            _density_sentence(size, len(pairs), int(possible), density),
            {"linked_pairs": len(pairs), "size": size, "identifiers": sorted(specific_ids)[:20]},
        ),
        Observation(
            "ring_velocity",
            float(len(active)),
            f"{count(len(active), 'other ring member') if active else 'No other ring member'} applied in the "
            f"{duration(RECENT)} before this application.",
            {"members": [applicant_node(m) for m in active[:50]], "window_days": 14},
        ),
        Observation(
            "ring_confirmed_fraud",
            share,
            _fraud_share_sentence(len(fraud), len(members)),
            {"confirmed_fraud": fraud[:20], "members": len(members)},
        ),
    ]
