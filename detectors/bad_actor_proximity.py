"""Links to known bad actors.

Walks the applicant-identifier graph outwards from the applicant, one hop
at a time (applicant -> identifier is one hop), up to ``max_hops``, never
through hubs, allow-listed identifiers, identifiers that do not link people
(IPs, employers: see ``DetectorParams.links_people``) or a store kiosk's
device and IP, and reports the confirmed-fraud
applicants and identifiers it reaches with the shortest path to each.

Evidence counts node hops; sentences count *links* between people, one shared
identifier each (an applicant two hops away shares an identifier with this
one: one link), and name the identifiers along the way.
"""

from __future__ import annotations

from detectors.signals import Observation, ScoringContext
from detectors.wording import count, identifier, kind_word, listing, through
from graph.vocabulary import BLOCKING_STATUSES, CONFIRMED_FRAUD, applicant_node, node_kind

NAME = "bad_actor_proximity"


def _path(parent: dict[str, str | None], node: str) -> list[str]:
    out = [node]
    while (prev := parent.get(out[-1])) is not None:
        out.append(prev)
    return out[::-1]


def _named(ctx: ScoringContext, node_id: str) -> str:
    return identifier(node_kind(node_id), ctx.display(node_id))


def _through(ctx: ScoringContext, path: list[str]) -> str:
    # A path alternates applicant, identifier, applicant ...: the identifiers are the links.
    return through([(node_kind(n), ctx.display(n)) for n in path if not n.startswith("applicant:")])


def _direct_sentence(ctx: ScoringContext, direct: list[str], is_flagged: bool) -> str:
    if is_flagged:
        return "The applicant is confirmed fraud."
    if not direct:
        return "Uses no identifier confirmed as fraud."
    named = listing([_named(ctx, n) for n in direct[:3]]) + (f" and {len(direct) - 3} more" if len(direct) > 3 else "")
    return f"Uses {count(len(direct), 'identifier')} confirmed as fraud: {named}."


def _proximity_sentence(
    ctx: ScoringContext,
    parent: dict[str, str | None],
    fraud_people: list[tuple[int, str]],
    far_ids: list[tuple[int, str]],
) -> str:
    reach = ctx.params.max_hops // 2
    if reach == 0:
        return "Other applicants are not walked to (max_hops is 1)."
    if fraud_people:
        hops, nearest = fraud_people[0]
        sentence = (
            f"{count(len(fraud_people), 'confirmed-fraud applicant')} within {count(reach, 'link')}; "
            f"the nearest is {count(hops // 2, 'link')} away ({_through(ctx, _path(parent, nearest))})."
        )
    else:
        sentence = f"No confirmed-fraud applicant within {count(reach, 'link')}."
    if far_ids:
        # Identifiers are reached at odd hops: the applicant before one is hops // 2 links away.
        hops, nearest = far_ids[0]
        more = len(far_ids) - 1
        sentence += (
            f" An applicant {count(hops // 2, 'link')} away ({_through(ctx, _path(parent, nearest)[:-1])}) "
            f"uses {_named(ctx, nearest)}, which is confirmed as fraud"
            + (f" ({count(more, 'more such identifier')} in reach)." if more else ".")
        )
    return sentence


def observe(ctx: ScoringContext) -> list[Observation]:
    start = applicant_node(ctx.subject)
    own_label = ctx.labels([start]).get(start)
    parent: dict[str, str | None] = {start: None}
    for nid in ctx.identifiers():
        parent[nid] = start
    found: list[tuple[int, str]] = []
    frontier = list(ctx.identifiers())
    hops = 1
    terminals = ctx.terminals()
    blocked: set[str] = set(terminals)  # a store kiosk links nobody: never walked through
    while frontier and hops <= ctx.params.max_hops:
        labels = ctx.labels(frontier)
        for nid in frontier:
            label = labels.get(nid)
            if label is None:
                continue
            if label.status == CONFIRMED_FRAUD:
                found.append((hops, nid))
            elif label.status in BLOCKING_STATUSES:
                blocked.add(nid)
        if hops == ctx.params.max_hops:
            break
        if frontier[0].startswith("applicant:"):
            keys = [n.split(":", 1)[1] for n in frontier if n not in blocked]
            nxt: list[str] = []
            for key, ids in sorted(ctx.neighbours(keys).items()):
                for nid in ids:
                    if nid not in parent:
                        parent[nid] = applicant_node(key)
                        nxt.append(nid)
        else:
            # An IP or an employer is not a link between people: the walk goes on over the
            # identifiers that link people (devices, phones, e-mails, bank accounts, addresses).
            open_ids = [n for n in frontier if n not in blocked and ctx.params.links_people(node_kind(n))]
            usage = ctx.usage() if hops == 1 else ctx.far_usage(open_ids)
            usage = {n: usage[n] for n in open_ids if n in usage}
            nxt = []
            for nid in sorted(usage):
                for member in usage[nid].members:
                    node = applicant_node(member)
                    if node not in parent:
                        parent[node] = nid
                        nxt.append(node)
        frontier = sorted(nxt)
        hops += 1

    direct = [n for h, n in found if h == 1]
    fraud_people = sorted((h, n) for h, n in found if n.startswith("applicant:"))
    is_flagged = own_label is not None and own_label.status == CONFIRMED_FRAUD
    nearest = min((h for h, _ in found), default=0)
    # Sharing an identifier with a fraudster (2 hops) is 1.0; two people away (4 hops) 0.5.
    proximity = max((min(1.0, 2.0 / h) for h, n in fraud_people if h > 1), default=0.0)
    paths = [_path(parent, n) for _, n in sorted(found)[:5]]
    far_ids = sorted((h, n) for h, n in found if h > 1 and not n.startswith("applicant:"))
    return [
        Observation(
            "bad_actor_direct",
            1.0 if (direct or is_flagged) else 0.0,
            _direct_sentence(ctx, direct, is_flagged),
            {"identifiers": direct, "applicant_flagged": is_flagged},
        ),
        Observation(
            "bad_actor_proximity",
            proximity,
            _proximity_sentence(ctx, parent, fraud_people, far_ids)
            + (
                f" The lender's own {listing(sorted({kind_word(node_kind(n)) for n in terminals}))} used in the "
                f"{ctx.app.channel} channel {'is' if len(terminals) == 1 else 'are'} not walked through."
                if terminals
                else ""
            ),
            {
                "confirmed_fraud_within_k": len(fraud_people),
                "k": ctx.params.max_hops,
                "nearest_hops": nearest,
                "paths": paths,
            },
        ),
    ]
