"""The investigator console's reads on a store: who used a hub, the reach of an applicant,
and the overview, each beside a naive baseline over the older seam reads.

    python bench/bench_investigator_reads.py                                   # memory://, 50k
    python bench/bench_investigator_reads.py --url bolt://127.0.0.1:7707 --applications 20000

The population is synthetic and seeded: ``--applications`` applicants with a device, a
phone and one of 200 employers each; one kiosk IP used by ``--hub`` of them (a hub);
small rings of four sharing a phone; one in fifty applicants confirmed as fraud; one
decision per application spread over 30 days on four channels and three products.

- **applicants**: ``store.identifier_applicants(kiosk, 100)``; baseline: the kiosk's
  members from ``identifier_usage`` (no hub limit) and every member's applications
  from ``applications_of``, aggregated and sorted in Python (answers compared).
- **reach**: ``desk.reach(applicant, 3)`` of ring members.
- **overview**: ``desk.overview(30)``; baseline: every application's decisions read one
  application at a time and counted in Python (answers compared).

A Neo4j database is emptied first.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.service.desk import FraudDesk
from detectors.score import Scorer
from graph.normalise import Identifier, NormalisedApplication, Normaliser
from graph.store import Decision, GraphStore, IdentifierUser, Label, open_store
from graph.store.records import utc_day
from graph.vocabulary import DAY

T0 = 1_760_000_000.0
CHANNELS = ("app", "web", "store", None)
PRODUCTS = ("cash_loan", "instalment", None)


def population(n: int, hub: int, seed: int) -> tuple[list[NormalisedApplication], list[Decision], list[str]]:
    rng = random.Random(seed)
    apps, decisions, ring_members = [], [], []
    for i in range(n):
        key = f"{i:024x}"
        ts = T0 + i * (30 * DAY / n)
        idents = [
            Identifier("device", f"d{i:023x}", "dfp-****"),
            Identifier("phone", f"p{(i // 4 if i % 97 == 0 else i):023x}", "+86*******0000"),
            Identifier("employer", f"e{rng.randrange(200):023x}", "Employer ***"),
        ]
        if i % 97 == 0:
            ring_members.append(key)
        if i < hub:
            idents.append(Identifier("ip", "kiosk" + "0" * 19, "203.0.113.*"))
        apps.append(
            NormalisedApplication(
                f"APP-{i:08d}",
                ts,
                key,
                "110***********7777",
                tuple(idents),
                channel=CHANNELS[i % 4],
                product=PRODUCTS[i % 3],
            )
        )
        band = rng.choice(("low", "low", "low", "medium", "high", "critical"))
        action = {"low": "approve", "medium": "step_up", "high": "review", "critical": "decline"}[band]
        decisions.append(Decision(f"APP-{i:08d}", ts, 0.5, band, action, [], "bench"))
    return apps, decisions, ring_members


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, list[float]]:
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return out, times


def show(name: str, times: list[float], base: list[float] | None = None) -> None:
    p50 = statistics.median(times)
    p99 = sorted(times)[max(0, int(len(times) * 0.99) - 1)]
    line = f"{name:34s} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms"
    if base:
        line += f"   baseline p50 {statistics.median(base):9.2f} ms   x{statistics.median(base) / p50:.1f}"
    print(line, flush=True)


def naive_users(store: GraphStore, node_id: str, limit: int) -> list[IdentifierUser]:
    use = store.identifier_usage([node_id], float("inf"), 0.0, 10**9)[node_id]
    users = []
    for key, apps in store.applications_of(list(use.members)).items():
        mine = [a for a in apps if any(i.node_id == node_id for i in a.identifiers)]
        users.append(IdentifierUser(key, len(mine), mine[0].ts, mine[-1].ts, mine[-1].applicant_display))
    return sorted(users, key=lambda u: (-u.last_ts, u.applicant_key))[:limit]


def naive_decisions(store: GraphStore, apps: list[NormalisedApplication], since: float) -> Counter[tuple[Any, ...]]:
    counts: Counter[tuple[Any, ...]] = Counter()
    for a in apps:
        for d in store.decisions(a.application_id):
            if d.trigger == "application" and d.at >= since:
                counts[(utc_day(int(d.at / DAY)), d.band, d.action, a.channel, a.product)] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="memory://")
    parser.add_argument("--applications", type=int, default=50_000)
    parser.add_argument("--hub", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    store = open_store(args.url, **({"timeout": 60.0} if args.url.startswith(("bolt", "neo4j")) else {}))
    if args.url.startswith(("bolt", "neo4j")):
        import neo4j

        with neo4j.GraphDatabase.driver(args.url, auth=None) as driver, driver.session() as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    apps, decisions, ring = population(args.applications, args.hub, 7)
    t = time.perf_counter()
    for start in range(0, len(apps), 5000):
        store.upsert(apps[start : start + 5000])
    for d in decisions:
        store.record_decision(d)
    for a in apps[::50]:
        store.set_label(Label(f"applicant:{a.applicant_key}", "confirmed_fraud", "bench", T0, "bench"))
    print(f"{args.url}: {len(apps)} applications, hub of {args.hub}, loaded in {time.perf_counter() - t:.1f}s")

    now = T0 + 30 * DAY
    desk = FraudDesk(store, Normaliser(b"bench-key-0123456789abcdef"), Scorer.default(), clock=lambda: now)
    kiosk = "ip:kiosk" + "0" * 19
    fast, fast_t = timed(lambda: store.identifier_applicants(kiosk, 100), args.repeat)
    slow, slow_t = timed(lambda: naive_users(store, kiosk, 100), max(3, args.repeat // 10))
    assert fast == slow, "identifier_applicants differs from the baseline"
    show("applicants of a hub (limit 100)", fast_t, slow_t)
    _, many_t = timed(lambda: store.identifier_applicants(kiosk, 1000), args.repeat)
    show("applicants of a hub (limit 1000)", many_t)
    own = apps[-1].identifiers[0].node_id
    _, one_t = timed(lambda: store.identifier_applicants(own, 100), args.repeat)
    show("applicants of a personal device", one_t)

    members = iter(ring * (args.repeat // max(1, len(ring)) + 1))
    _, reach_t = timed(lambda: desk.reach(f"applicant:{next(members)}", 3), args.repeat)
    show("reach of a ring member (3 hops)", reach_t)
    _, reach_hub = timed(lambda: desk.reach(kiosk, 3), max(3, args.repeat // 5))
    show("reach of the hub (3 hops)", reach_hub)

    overview, over_t = timed(lambda: desk.overview(30), max(3, args.repeat // 5))
    counts = store.decision_summary(overview.since)
    naive, naive_t = timed(lambda: naive_decisions(store, apps, overview.since), 1)
    assert Counter({(c.day, c.band, c.action, c.channel, c.product): c.count for c in counts}) == naive
    show("overview (30 days)", over_t, naive_t)
    store.close()


if __name__ == "__main__":
    main()
