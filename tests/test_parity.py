"""Both backends give the same answers on the same data.

One generated population (5000 applications, seed 23) with its bad actors
labelled is loaded into the embedded store and into Neo4j; every application
is then scored on both, and every read the detectors and the API use is
compared. A difference is a bug in one of the backends.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from detectors.rings import detect_rings
from detectors.score import Scorer, ScoreResult
from fixtures.generator import Dataset, generate
from graph.errors import InvalidInput
from graph.normalise import NormalisedApplication, Normaliser
from graph.records import from_flat
from graph.store import GraphStore, Label
from graph.store.embedded.store import EmbeddedStore
from graph.store.neo4j.store import Neo4jStore
from graph.store.snapshot import assemble
from graph.vocabulary import applicant_node

pytestmark = pytest.mark.neo4j

T = TypeVar("T")
PII_KEY = b"test-key-0123456789"
LABELLED_AT = 1_700_000_000.0
BATCH = 5000
DAY = 86400.0
RING_KINDS = ("device", "phone", "email", "bank_account", "address")


@dataclass
class Loaded:
    embedded: EmbeddedStore
    neo4j: Neo4jStore
    apps: list[NormalisedApplication]
    normaliser: Normaliser

    @property
    def both(self) -> tuple[GraphStore, GraphStore]:
        return self.embedded, self.neo4j


def _parallel(work: Callable[[T], Any], items: Sequence[T], workers: int = 12) -> list[Any]:
    """Neo4j reads are round trips: overlap them (the driver is thread-safe)."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, items))


def _label_bad_actors(store: GraphStore, normaliser: Normaliser, dataset: Dataset) -> None:
    """What ``graph.loading.load_bad_actors`` does, with a fixed time so both stores agree."""
    for row in dataset.bad_actors:
        node = normaliser.node_for(str(row["kind"]), str(row["value"]))
        store.set_label(Label(node, "confirmed_fraud", "import", LABELLED_AT, "listed in bad_actors.csv"))


@pytest.fixture(scope="module")
def loaded(neo4j_url: str, wipe_neo4j: Callable[[], None]) -> Iterator[Loaded]:
    dataset = generate(5000, seed=23)
    normaliser = Normaliser(PII_KEY, "CN")
    apps = []
    for row in dataset.applications:
        try:
            apps.append(normaliser.application(from_flat(row)))
        except InvalidInput:
            continue
    wipe_neo4j()
    embedded = EmbeddedStore("memory://")
    neo = Neo4jStore(neo4j_url, timeout=30.0)
    for start in range(0, len(apps), BATCH):
        batch = apps[start : start + BATCH]
        assert embedded.upsert(batch) == neo.upsert(batch) == len(batch)
    for store in (embedded, neo):
        _label_bad_actors(store, normaliser, dataset)
    # An allow-listed kiosk device and a cleared household phone exercise the "ignored" paths.
    busiest = sorted(
        embedded.identifier_usage(
            sorted({i.node_id for a in apps for i in a.identifiers if i.kind in ("device", "phone")}),
            float("inf"),
            0.0,
            1000,
        ).values(),
        key=lambda u: (-u.applicants, u.node_id),
    )
    device = next(u.node_id for u in busiest if u.node_id.startswith("device:"))
    phone = next(u.node_id for u in busiest if u.node_id.startswith("phone:") and u.applicants <= 4)
    for store in (embedded, neo):
        store.set_label(Label(device, "allow_listed", "analyst", LABELLED_AT, "store kiosk"))
        store.set_label(Label(phone, "cleared", "analyst", LABELLED_AT, "household"))
    try:
        yield Loaded(embedded, neo, apps, normaliser)
    finally:
        embedded.close()
        neo.close()


def _all_identifiers(apps: list[NormalisedApplication]) -> list[str]:
    return sorted({i.node_id for a in apps for i in a.identifiers})


def _cut_points(apps: list[NormalisedApplication]) -> list[float]:
    times = sorted(a.ts for a in apps)
    return [times[len(times) // 10], times[len(times) // 2], times[-1], float("inf")]


def test_counts_labels_and_links_match(loaded: Loaded) -> None:
    e, n = loaded.both
    assert n.stats() == e.stats()
    assert n.labels() == e.labels()
    assert sorted(n.links()) == sorted(e.links())


def test_applications_read_back_the_same(loaded: Loaded) -> None:
    # Every application is read back by test_applicant_applications_match; this checks the point read.
    e, n = loaded.both
    ids = [a.application_id for a in random.Random(3).sample(loaded.apps, 500)]
    assert _parallel(n.application, ids) == [e.application(i) for i in ids]
    assert n.application("APP-NOT-THERE") is None


def test_applicant_applications_match(loaded: Loaded) -> None:
    e, n = loaded.both
    keys = sorted({a.applicant_key for a in loaded.apps})
    assert _parallel(n.applicant_applications, keys) == [e.applicant_applications(k) for k in keys]
    middle = _cut_points(loaded.apps)[1]
    sample = random.Random(5).sample(keys, 500)
    got = _parallel(lambda k: n.applicant_applications(k, middle), sample)
    assert got == [e.applicant_applications(k, middle) for k in sample]


def test_applicant_identifiers_match(loaded: Loaded) -> None:
    e, n = loaded.both
    keys = [*sorted({a.applicant_key for a in loaded.apps}), "not-an-applicant"]
    for as_of in _cut_points(loaded.apps):
        assert n.applicant_identifiers(keys, as_of) == e.applicant_identifiers(keys, as_of)


@pytest.mark.parametrize("window, expand_limit", [(30 * DAY, 30), (0.0, 3), (365 * DAY, 1000)])
def test_identifier_usage_matches(loaded: Loaded, window: float, expand_limit: int) -> None:
    e, n = loaded.both
    ids = [*_all_identifiers(loaded.apps), "device:unknown", "applicant:x", "nonsense"]
    for as_of in _cut_points(loaded.apps):
        chunks = [ids[i : i + 2000] for i in range(0, len(ids), 2000)]
        for chunk, got in zip(
            chunks,
            _parallel(lambda c, t=as_of: n.identifier_usage(c, t, window, expand_limit), chunks),
            strict=True,
        ):
            want = e.identifier_usage(chunk, as_of, window, expand_limit)
            assert list(got) == list(want)
            for nid, usage in want.items():
                assert got[nid] == usage, nid


def test_node_display_and_existence_match(loaded: Loaded) -> None:
    e, n = loaded.both
    keys = sorted({a.applicant_key for a in loaded.apps})
    nodes = (
        _all_identifiers(loaded.apps)
        + [applicant_node(k) for k in keys]
        + [a.node_id for a in loaded.apps[:200]]
        + ["device:unknown", "application:APP-NOT-THERE", "nonsense"]
    )
    assert n.node_display(nodes) == e.node_display(nodes)
    assert n.applicants_exist([*keys, "nobody"]) == e.applicants_exist([*keys, "nobody"])


def test_scoring_snapshots_match(loaded: Loaded) -> None:
    """The one-query Neo4j snapshot, the embedded one and the assembly from point reads agree,
    at each application's own time and later (when its own ring has grown around it)."""
    e, n = loaded.both
    sample = random.Random(11).sample(loaded.apps, 300)
    limit = Scorer.default().config.params.hub_limit
    for as_of in (None, _cut_points(loaded.apps)[2] + 1.0):
        cases = [(a, a.ts if as_of is None else as_of) for a in sample]
        got = _parallel(lambda c: n.snapshot(c[0], c[1], limit), cases)
        for (app, when), snap in zip(cases, got, strict=True):
            assert snap == e.snapshot(app, when, limit), app.application_id
            assert snap == assemble(n, n.labels, app, when, limit), app.application_id
    assert any(s.far_usage for s in got) and any(s.labels for s in got) and any(s.history for s in got)


def _signals(result: ScoreResult) -> list[tuple[str, str, float]]:
    return [(s.code, s.detector, s.value) for s in result.signals]


def test_every_application_scores_the_same(loaded: Loaded) -> None:
    scorer = Scorer.default()
    e, n = loaded.both
    neo_results = _parallel(lambda app: scorer.score(n, app), loaded.apps)
    mismatches = []
    for app, got in zip(loaded.apps, neo_results, strict=True):
        want = scorer.score(e, app)
        same = (
            abs(got.score - want.score) < 1e-9
            and got.band == want.band
            and got.action == want.action
            and _signals(got) == _signals(want)
            and [s.evidence for s in got.signals] == [s.evidence for s in want.signals]
            and [r.code for r in got.reasons] == [r.code for r in want.reasons]
        )
        if not same:
            mismatches.append((app.application_id, _signals(want), _signals(got)))
    assert not mismatches, f"{len(mismatches)} applications score differently, first: {mismatches[:3]}"


def test_neighbourhoods_match(loaded: Loaded) -> None:
    e, n = loaded.both
    rng = random.Random(7)
    usage = e.identifier_usage(_all_identifiers(loaded.apps), float("inf"), 0.0, 10_000)
    shared = sorted(nid for nid, u in usage.items() if u.applicants >= 2)
    hubs = sorted(nid for nid, u in usage.items() if u.applicants > 50)
    apps = rng.sample(loaded.apps, 40)
    starts = (
        [a.applicant_node for a in apps[:20]]
        + [a.node_id for a in apps[20:]]
        + rng.sample(shared, 20)
        + hubs[:3]
        + ["device:unknown", "applicant:nobody", "application:APP-NOT-THERE"]
    )
    cases = [(s, depth, limit) for s in starts for depth, limit in ((1, 500), (2, 200), (3, 60), (4, 40))]
    got = _parallel(lambda c: n.neighbourhood(*c), cases)
    for case, graph in zip(cases, got, strict=True):
        assert graph == e.neighbourhood(*case), case


def test_linked_components_match(loaded: Loaded) -> None:
    e, n = loaded.both
    exclude = sorted(nid for nid, lab in e.labels().items() if lab.status in ("allow_listed", "cleared"))
    want = e.linked_components(RING_KINDS, 30, 3, exclude)
    assert want, "the fixture should contain rings"
    assert n.linked_components(RING_KINDS, 30, 3, exclude) == want


@pytest.mark.parametrize("min_similarity", [0.3, 0.6, 1.0])
def test_look_alikes_match(loaded: Loaded, min_similarity: float) -> None:
    # GDS node similarity + degree on Neo4j, counted in process on the embedded store.
    e, n = loaded.both
    exclude = sorted(nid for nid, lab in e.labels().items() if lab.status in ("allow_listed", "cleared"))
    want = e.look_alikes(RING_KINDS, 30, min_similarity, 2, exclude)
    assert want, "the fixture should contain look-alike applicants"
    assert all(p.similarity >= min_similarity and p.shared >= 2 for p in want)
    assert n.look_alikes(RING_KINDS, 30, min_similarity, 2, exclude) == want


def test_batch_ring_detection_finds_and_writes_the_same_rings(loaded: Loaded) -> None:
    # Runs last: it writes rings into both stores.
    runs = [detect_rings(store, clock=lambda: LABELLED_AT + 1.0) for store in loaded.both]
    assert runs[0].rings, "the fixture should contain reported rings"
    assert runs[0].counts == runs[1].counts

    def shape(store: GraphStore) -> list[tuple[Any, ...]]:
        return [(r.ring_id, r.members, r.identifiers, r.score, r.features) for r in store.rings()]

    assert shape(loaded.neo4j) == shape(loaded.embedded)
    assert [r.ring_id for r in runs[1].rings] == [r.ring_id for r in runs[0].rings]
    assert runs[0].look_alikes and runs[1].look_alikes == runs[0].look_alikes
    some = runs[0].rings[0].members[0]
    ring, same = loaded.neo4j.ring_of(some), loaded.embedded.ring_of(some)
    assert ring is not None and same is not None
    assert (ring.ring_id, ring.members, ring.identifiers) == (same.ring_id, same.members, same.identifiers)
    assert loaded.neo4j.stats() == loaded.embedded.stats()


def test_batch_reads_match(loaded: Loaded) -> None:
    embedded, neo4j = loaded.both
    assert embedded.applicants_below("4") == neo4j.applicants_below("4")
    keys = embedded.applicants_below("1")
    assert keys and embedded.applications_of(keys) == neo4j.applications_of(keys)
