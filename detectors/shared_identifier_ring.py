"""Shared-identifier rings around one applicant.

A shared identifier is evidence in proportion to its *specificity*: a device
shared by three strangers is strong, a phone shared by a household weaker
(it ages: household members apply months apart), an employer shared by
thousands is nothing. Identifiers used by more than ``hub_limit``
applicants are hubs: counted, never expanded. Allow-listed identifiers
(kiosks, office IPs, households an investigator cleared) are ignored, and so
are the device and IP of an application made through a lender's terminal
channel (``terminal_channels``: a store kiosk serves every customer).

A *household* is an address with at most ``household_max`` applicants whose
residents share with the applicant one phone or one device and nothing else
specific (a family phone, a shared tablet). Residents still count as sharing
identifiers, but they are not ring members: they add nothing to the ring's
size, density, velocity or fraud share. Rings that share a device *and* a
phone *and* an address are not households.

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


def _who(ctx: ScoringContext, nid: str) -> str:
    use = ctx.usage()[nid]
    # A hub lists no members, so whether this applicant is among its users is not known.
    if not use.members:
        return f"(a hub of {count(use.applicants, 'applicant')} before this application)"
    return f"with {count(use.applicants - (ctx.subject in use.members), 'other applicant')}"


def _terminal_sentence(ctx: ScoringContext, terminals: list[str]) -> str:
    if not terminals:
        return ""
    named = [f"{identifier(node_kind(n), ctx.display(n))} {_who(ctx, n)}" for n in terminals]
    channel = ctx.app.channel or ""
    return (
        f" Not counted: {listing(named)}, the lender's own, as the application was made through the {channel} channel."
    )


def _shared_sentence(
    ctx: ScoringContext, shared: list[str], weight: float, terminals: list[str], homely: bool = False
) -> str:
    if not shared:
        return (
            "Shares no " + ("other " if terminals else "") + "identifier with other applicants."
        ) + _terminal_sentence(ctx, terminals)
    named = [f"{identifier(node_kind(nid), ctx.display(nid))} {_who(ctx, nid)}" for nid in shared[:3]]
    rest = len(shared) - len(named)
    return (
        f"Shares {count(len(shared), 'identifier')} with other applicants (weighted by specificity and recency"
        + (f", those only its household shares at {percent(ctx.params.household_weight)}" if homely else "")
        + f": {weight:.2f}): "
        f"{listing(named)}" + (f" and {rest} more." if rest else ".") + _terminal_sentence(ctx, terminals)
    )


def _terminals(ctx: ScoringContext, ids: list[str]) -> list[str]:
    """The application's device and IP when it was made through a terminal channel."""
    own = ctx.terminals()
    usage = ctx.usage()
    return [n for n in ids if n in own and usage[n].applicants - (ctx.subject in usage[n].members) > 0]


def _household(ctx: ScoringContext, linking: dict[str, set[str]]) -> tuple[set[str], str]:
    """The members of the applicant's household and the phone or device they share
    with the applicant (``(set(), "")`` when there is none).

    ``linking`` maps each specific identifier the applicant shares to the other
    applicants who used it. A household is the other users of one phone or device,
    at most ``household_max`` with this applicant, when nothing else specific but an
    address links the applicant to any of them and everyone in the group who gave an
    address gave the same one (at least one did), used by nobody outside the group."""
    usage = ctx.usage()
    own = {i.node_id for i in ctx.app.identifiers if i.kind == "address"}
    for shared in sorted(n for n in linking if node_kind(n) in ("phone", "device")):
        group = linking[shared]
        if not group or len(group) + 1 > ctx.params.household_max:
            continue
        if any(n != shared and node_kind(n) != "address" and who & group for n, who in linking.items()):
            continue
        addresses = set(own)
        for ids in ctx.neighbours(sorted(group)).values():
            addresses.update(n for n in ids if node_kind(n) == "address")
        if len(addresses) != 1:
            continue
        (home,) = addresses
        use = usage.get(home) or ctx.far_usage([home]).get(home)
        if use is not None and not set(use.members) - {ctx.subject} <= group:
            continue
        return group, shared
    return set(), ""


def _household_clause(ctx: ScoringContext, household: set[str], shared: str) -> str:
    if not household:
        return ""
    one = len(household) == 1
    return (
        f" {count(len(household), 'other applicant')} {'shares' if one else 'share'} only "
        f"{identifier(node_kind(shared), ctx.display(shared))} with it, and everyone who gave an address gave the "
        "same one: a household, not counted as a ring."
    )


def _size_sentence(others: int, capped: bool, cap: int, household: str = "") -> str:
    if not others:
        if household:
            return "No other applicant outside its household is linked to this one by specific identifiers." + household
        return "No other applicant is linked to this one by specific identifiers."
    return (
        f"{'At least ' if capped else ''}{count(others, 'other applicant')} linked to this one by specific "
        "identifiers, directly or through one other applicant"
        + (f" (the ring is read up to {cap} applicants)." if capped else ".")
        + household
    )


def _density_sentence(size: int, pairs: int, possible: int, density: float, household: bool = False) -> str:
    if size < 2:
        if household:
            return "No ring around the applicant: only its household is linked to it by a specific identifier."
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
    terminals = _terminals(ctx, ids)
    skipped = _allow_listed(ctx, ids) | set(terminals)
    weights: dict[str, float] = {}
    linking: dict[str, set[str]] = {}
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
        weights[nid] = spec * recency * min(others, 5)
        shared.append(
            {
                "node_id": nid,
                "applicants": others + 1,
                "specificity": round(spec, 3),
                "last_used_days_ago": round(age_days, 2),
            }
        )
        if spec >= ctx.params.ring_min_specificity and use.members:
            linking[nid] = set(use.members) - {ctx.subject}
    household, household_id = _household(ctx, linking)
    # What only the household shares (its address, the family phone, the home IP) counts for less.
    homely = {
        n for n in weights if household and usage[n].members and set(usage[n].members) - {ctx.subject} <= household
    }
    shared_weight = sum(w * (ctx.params.household_weight if n in homely else 1.0) for n, w in weights.items())
    for who in linking.values():
        first_hop.update(who - household)

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
            if who in ring and who != ctx.subject and ctx.at - RECENT <= ts < ctx.at
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
            _shared_sentence(ctx, [str(s["node_id"]) for s in by_specificity], shared_weight, terminals, bool(homely)),
            {"identifiers": evidence_ids},
        ),
        Observation(
            "ring_size",
            float(size - 1),
            _size_sentence(
                others,
                size >= ctx.params.ring_cap,
                ctx.params.ring_cap,
                _household_clause(ctx, household - ring, household_id),
            ),
            {
                "members": [applicant_node(m) for m in members[:50]],
                "size": size,
                "household": [applicant_node(m) for m in sorted(household - ring)],
            },
        ),
        Observation(
            "ring_density",
            density if size >= 3 else 0.0,
            _density_sentence(size, len(pairs), int(possible), density, bool(household - ring)),
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
