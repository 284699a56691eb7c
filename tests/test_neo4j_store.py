"""The Neo4j store against a real server: schema, idempotent and concurrent writes,
conflicts, labels, rings, the audit log, outages and the GDS whole-graph work."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import neo4j
import pytest

from fixtures.generator import generate
from graph.errors import Conflict, NotFound, StoreUnavailable
from graph.normalise import Identifier, NormalisedApplication, Normaliser
from graph.records import from_flat, parse_record
from graph.store import Alert, Decision, Label, LinkedComponent, RingRecord
from graph.store.embedded.store import EmbeddedStore
from graph.store.neo4j.queries import SCHEMA, UNIQUE
from graph.store.neo4j.store import Neo4jStore
from graph.vocabulary import LABEL_OF_KIND

pytestmark = pytest.mark.neo4j

N = Normaliser(b"test-key-0123456789", "CN")
T0 = 1_780_000_000.0


def app(n: int, person: int | None = None, ts: float | None = None, **idents: str) -> NormalisedApplication:
    """Application ``APP-n`` of person ``person`` (default n) with the given raw identifiers."""
    record: dict[str, Any] = {
        "application_id": f"APP-{n:06d}",
        "submitted_at": datetime.fromtimestamp(ts if ts is not None else T0 + n * 60, UTC).isoformat(),
        "applicant": {"national_id": f"1101011990{person if person is not None else n:08d}"},
        "amount": 1000.0 + n,
        "product": "cash_loan",
    }
    for kind, value in idents.items():
        if kind == "device":
            record["device"] = {"fingerprint": value}
        elif kind == "employer":
            record["employer"] = {"name": value}
        else:
            record[kind] = value
    return N.application(parse_record(record))


def count(driver: neo4j.Driver, query: str, **params: Any) -> int:
    records, _, _ = driver.execute_query(query, params)
    return int(records[0][0])


@pytest.fixture()
def driver(neo4j_url: str) -> Iterator[neo4j.Driver]:
    with neo4j.GraphDatabase.driver(neo4j_url, auth=None) as d:
        yield d


def duplicates(driver: neo4j.Driver) -> int:
    """Nodes sharing a key with another node of their label (must be zero)."""
    total = 0
    for label, prop in UNIQUE:
        total += count(
            driver,
            f"MATCH (n:{label}) WITH n.{prop} AS key, count(*) AS c WHERE c > 1 RETURN count(*)",
        )
    return total


# -- schema -------------------------------------------------------------------------------------
def test_constraints_exist_and_a_second_start_is_idempotent(
    neo4j_store: Neo4jStore, neo4j_url: str, driver: neo4j.Driver
) -> None:
    def schema() -> set[tuple[str, str]]:
        records, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name, type RETURN name, type")
        return {(r["name"], r["type"]) for r in records}

    first = schema()
    expected = {f"ringsight_{label.lower()}_{prop}" for label, prop in UNIQUE}
    assert {name for name, kind in first if kind == "UNIQUENESS"} >= expected
    labels = {label for label, _ in UNIQUE}
    assert labels >= {
        *LABEL_OF_KIND.values(),
        "Applicant",
        "Application",
        "Ring",
        "Label",
        "Alert",
        "AuditEvent",
    }
    with Neo4jStore(neo4j_url) as again:
        again.ping()
    assert schema() == first
    records, _, _ = driver.execute_query("SHOW INDEXES YIELD name, state RETURN name, state")
    states = {r["name"]: r["state"] for r in records}
    assert all(states[s.split()[2]] == "ONLINE" for s in SCHEMA)


# -- writes -------------------------------------------------------------------------------------
def test_upsert_is_idempotent(neo4j_store: Neo4jStore, driver: neo4j.Driver) -> None:
    batch = [app(i, device=f"dfp-{i % 3}", phone=f"1380013{i % 4:04d}", employer="Acme Co., Ltd.") for i in range(20)]
    assert neo4j_store.upsert(batch) == 20
    before = neo4j_store.stats()
    assert neo4j_store.upsert(batch) == 0
    assert neo4j_store.upsert([*batch[:5], app(99, device="dfp-0")]) == 1
    after = neo4j_store.stats()
    assert after["applications"] == before["applications"] + 1
    assert after["device"] == before["device"] == 3
    assert after["employer"] == 1
    assert count(driver, "MATCH (:Application)-[r:USED_DEVICE]->() RETURN count(r)") == 21
    assert neo4j_store.upsert([]) == 0
    assert duplicates(driver) == 0


def test_application_reads_back_exactly(neo4j_store: Neo4jStore) -> None:
    record = parse_record(
        {
            "application_id": "APP-RT",
            "submitted_at": "2026-11-20T10:31:00.123456Z",
            "applicant": {"national_id": "110101199003077777", "account_created_at": "2026-11-20T10:02:00Z"},
            "device": {
                "fingerprint": "dfp-9f2c1a",
                "os": "Android",
                "ip": "203.0.113.7",
                "geo": {"lat": 31.2, "lon": 121.5},
            },
            "phone": "+86 138 0013 8000",
            "email": "Li.Wei@Example.com",
            "employer": {"name": "Example Trading Co., Ltd."},
            "address": {"line": "Room 1, 2 Road", "city": "Shanghai"},
            "bank_account": {"number": "6222 0200 0000 1234"},
            "amount": 5000,
            "product": "cash_loan",
            "channel": "app",
            "behaviour": {
                "form_fill_seconds": 41,
                "field_edits": 2,
                "paste_events": 0,
                "session_seconds": 300,
            },
        }
    )
    original = N.application(record)
    assert [i.kind for i in original.identifiers] == [
        "device",
        "phone",
        "email",
        "employer",
        "address",
        "ip",
        "bank_account",
    ]
    neo4j_store.upsert([original])
    assert neo4j_store.application("APP-RT") == original
    assert neo4j_store.applicant_applications(original.applicant_key) == [original]
    assert neo4j_store.applicant_applications(original.applicant_key, before=original.ts) == []


def test_concurrent_overlapping_upserts_create_no_duplicates(
    neo4j_store: Neo4jStore, neo4j_url: str, driver: neo4j.Driver
) -> None:
    # Shared devices, phones and applicants across batches; every batch overlaps its neighbours.
    apps = [
        app(i, person=i % 40, device=f"dfp-{i % 25}", phone=f"1390013{i % 30:04d}", employer=f"Firm {i % 5}")
        for i in range(240)
    ]
    batches = [apps[start : start + 60] for start in range(0, 200, 20)]
    stores = [Neo4jStore(neo4j_url, timeout=30.0) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            created = list(pool.map(lambda i: stores[i % len(stores)].upsert(batches[i]), range(len(batches))))
    finally:
        for s in stores:
            s.close()
    assert sum(created) == 240
    assert duplicates(driver) == 0
    stats = neo4j_store.stats()
    assert (
        stats["applications"],
        stats["applicants"],
        stats["device"],
        stats["phone"],
        stats["employer"],
    ) == (240, 40, 25, 30, 5)
    assert count(driver, "MATCH (:Applicant)-[r:SUBMITTED]->() RETURN count(r)") == 240
    assert count(driver, "MATCH (:Application)-[r]->() RETURN count(r)") == 240 * 3


def test_conflicting_application_id_writes_nothing(neo4j_store: Neo4jStore, driver: neo4j.Driver) -> None:
    neo4j_store.upsert([app(1, device="dfp-1")])
    before = count(driver, "MATCH (n) RETURN count(n)")
    reused = app(1, person=2, device="dfp-2")
    with pytest.raises(Conflict):
        neo4j_store.upsert([app(3, device="dfp-3"), reused])
    with pytest.raises(Conflict):
        neo4j_store.upsert([app(4, device="dfp-4"), app(4, person=5, device="dfp-4")])
    assert count(driver, "MATCH (n) RETURN count(n)") == before
    assert neo4j_store.application("APP-000003") is None
    assert neo4j_store.application("APP-000001") is not None


def test_two_phone_spellings_are_one_phone_node(neo4j_store: Neo4jStore, driver: neo4j.Driver) -> None:
    neo4j_store.upsert([app(1, phone="+86 138 0013 8000"), app(2, phone="13800138000"), app(3, phone="138-0013-8000")])
    assert count(driver, "MATCH (p:Phone) RETURN count(p)") == 1
    assert count(driver, "MATCH (:Phone)<-[r:GAVE_PHONE]-() RETURN count(r)") == 3
    phone = N.identifier("phone", "13800138000").node_id
    usage = neo4j_store.identifier_usage([phone], T0 + 10**6, 86400.0, 30)[phone]
    assert (usage.applicants, usage.applications, usage.display) == (3, 3, "+86*******8000")


def test_reads_before_as_of_see_only_the_past(neo4j_store: Neo4jStore) -> None:
    apps = [app(i, device="dfp-shared") for i in range(5)]
    neo4j_store.upsert(apps)
    device = apps[0].identifiers[0].node_id
    usage = neo4j_store.identifier_usage([device], apps[3].ts, 120.0, 2)[device]
    assert (usage.applicants, usage.applications, usage.first_ts, usage.last_ts) == (
        3,
        3,
        apps[0].ts,
        apps[2].ts,
    )
    assert usage.recent == ((apps[1].ts, apps[1].applicant_key), (apps[2].ts, apps[2].applicant_key))
    assert usage.members == ()
    assert neo4j_store.identifier_usage([device], apps[0].ts, 120.0, 2) == {}
    assert neo4j_store.applicant_identifiers([apps[4].applicant_key], apps[4].ts) == {}


# -- labels, rings, decisions, alerts, audit ----------------------------------------------------
def test_labels_on_known_and_never_seen_nodes(neo4j_store: Neo4jStore) -> None:
    neo4j_store.upsert([app(1, device="dfp-1")])
    seen = app(1, device="dfp-1").identifiers[0].node_id
    unseen = N.identifier("phone", "13900000000").node_id
    person = app(1).applicant_node
    for node in (seen, unseen, person):
        neo4j_store.set_label(Label(node, "confirmed_fraud", "alice", T0, "chargeback"))
    neo4j_store.set_label(Label(seen, "cleared", "bob", T0 + 1, "appeal upheld"))
    assert neo4j_store.labels([seen, unseen, "device:none"]) == {
        seen: Label(seen, "cleared", "bob", T0 + 1, "appeal upheld"),
        unseen: Label(unseen, "confirmed_fraud", "alice", T0, "chargeback"),
    }
    assert set(neo4j_store.labels()) == {seen, unseen, person}
    # A label on an identifier nobody used does not make it a used identifier.
    assert neo4j_store.node_display([unseen]) == {}
    assert "phone" not in neo4j_store.stats()
    assert neo4j_store.stats()["labels"] == 3
    neo4j_store.remove_label(unseen)
    neo4j_store.remove_label(unseen)
    assert unseen not in neo4j_store.labels()


def test_rings_are_replaced_atomically_without_duplicates(neo4j_store: Neo4jStore, driver: neo4j.Driver) -> None:
    apps = [app(i, device=f"dfp-{i // 3}") for i in range(9)]
    neo4j_store.upsert(apps)
    keys = sorted(a.applicant_key for a in apps)
    ring_a = RingRecord(
        "R-1", "run-1", tuple(keys[:3]), 0.9, {"size": 3, "density": 1.0}, ("device:x",), {"run": "run-1"}
    )
    ring_b = RingRecord("R-2", "run-1", tuple(keys[3:6]), 0.5, {"size": 3}, (), {})
    neo4j_store.write_rings("run-1", T0, [ring_a, ring_b])
    neo4j_store.write_rings("run-1", T0, [ring_a, ring_b])
    assert neo4j_store.rings() == [ring_a, ring_b]
    assert count(driver, "MATCH (r:Ring) RETURN count(r)") == 2
    assert count(driver, "MATCH ()-[m:MEMBER_OF]->() RETURN count(m)") == 6
    assert neo4j_store.ring_of(keys[4]) == ring_b
    ring_c = RingRecord("R-1", "run-2", tuple(keys[6:]), 0.7, {"size": 3}, (), {"run": "run-2"})
    neo4j_store.write_rings("run-2", T0 + 1, [ring_c])
    assert neo4j_store.rings() == [ring_c]
    assert neo4j_store.ring_of(keys[4]) is None
    assert neo4j_store.ring_of(keys[0]) is None
    assert neo4j_store.ring_of(keys[7]) == ring_c
    assert count(driver, "MATCH (r:Ring) RETURN count(r)") == 2
    assert count(driver, "MATCH ()-[m:MEMBER_OF {run_id: 'run-2'}]->(:Ring {ring_id: 'R-1'}) RETURN count(m)") == 3
    assert neo4j_store.stats()["rings"] == 1
    neo4j_store.write_rings("run-3", T0 + 2, [])
    assert neo4j_store.rings() == []


def test_decisions_and_alerts_round_trip(neo4j_store: Neo4jStore) -> None:
    first = Decision("APP-1", T0, 0.25, "medium", "step_up", [{"code": "ring_size", "value": 2.0}], "m1")
    second = Decision("APP-1", T0, 0.75, "high", "review", [], "m1", trigger="monitoring")
    neo4j_store.record_decision(first)
    neo4j_store.record_decision(second)
    assert neo4j_store.decisions("APP-1") == [first, second]
    assert neo4j_store.decisions("APP-2") == []
    alert = Alert("AL-1", "k1", "investigate", T0, "label:x", 0.8, None, detail={"b": 1, "a": [1, 2]})
    assert neo4j_store.add_alert(alert)
    assert not neo4j_store.add_alert(Alert("AL-1", "k2", "watch", T0, "t", 0.1, 0.0))  # ignored: the id exists
    assert neo4j_store.add_alert(Alert("AL-2", "k2", "watch", T0 + 5, "t", 0.4, 0.1))
    assert [a.alert_id for a in neo4j_store.alerts()] == ["AL-2", "AL-1"]
    assert neo4j_store.alerts(status="open", limit=1)[0].alert_id == "AL-2"
    neo4j_store.set_alert_status("AL-1", "resolved", "investigator:k", T0 + 9, "handled")
    assert neo4j_store.alerts(status="resolved") == [
        Alert(
            "AL-1",
            "k1",
            "investigate",
            T0,
            "label:x",
            0.8,
            None,
            "resolved",
            {"a": [1, 2], "b": 1},
            T0 + 9,
            "investigator:k",
            "handled",
        )
    ]
    with pytest.raises(NotFound):
        neo4j_store.set_alert_status("AL-404", "resolved", "x", T0, "n")


def test_audit_log_is_an_append_only_sequence(neo4j_store: Neo4jStore, neo4j_url: str) -> None:
    seqs = [
        neo4j_store.append_audit(T0 + i, "alice", "label:confirmed_fraud", f"device:{i % 2}", {"i": i})
        for i in range(3)
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3  # time-ordered, no shared counter node
    stores = [Neo4jStore(neo4j_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(6) as pool:
            more = list(pool.map(lambda i: stores[i % 3].append_audit(T0, "bot", "score", "x", {}), range(30)))
    finally:
        for s in stores:
            s.close()
    assert len(set(more)) == 30 and min(more) > max(seqs)
    events = neo4j_store.audit(subject="device:0")
    assert [(e.seq, e.detail) for e in events] == [(seqs[2], {"i": 2}), (seqs[0], {"i": 0})]
    assert [e.seq for e in neo4j_store.audit(limit=2)] == sorted(more)[-1:-3:-1]


# -- outages ------------------------------------------------------------------------------------
def test_dead_server_is_reported_quickly_and_never_crashes_construction() -> None:
    started = time.monotonic()
    store = Neo4jStore("bolt://127.0.0.1:1", timeout=1.0)
    try:
        assert time.monotonic() - started < 10
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.ping()
        assert time.monotonic() - started < 3
        with pytest.raises(StoreUnavailable):
            store.application("APP-1")
        with pytest.raises(StoreUnavailable):
            store.upsert([app(1)])
    finally:
        store.close()


class _Switchboard:
    """A TCP forwarder in front of the real server that can be unplugged and plugged back."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()

    def plug(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def unplug(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._links:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def _ready(store: Neo4jStore, seconds: float = 60.0) -> None:
    """Readiness answers at once; the schema and plans are prepared meanwhile: wait for them."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            store.ping()
            return
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_store_recovers_without_restart_when_the_server_comes_back(
    neo4j_url: str, wipe_neo4j: Callable[[], None]
) -> None:
    wipe_neo4j()
    board = _Switchboard(int(neo4j_url.rsplit(":", 1)[1]))
    store = Neo4jStore(f"bolt://127.0.0.1:{board.port}", timeout=1.0)  # server "down" at start
    try:
        with pytest.raises(StoreUnavailable):
            store.ping()
        board.plug()
        _ready(store)
        assert store.upsert([app(1, device="dfp-1")]) == 1
        board.unplug()
        with pytest.raises(StoreUnavailable):
            store.application("APP-000001")
        board.plug()
        _ready(store)
        assert store.application("APP-000001") is not None
    finally:
        board.unplug()
        store.close()


# -- GDS ----------------------------------------------------------------------------------------
def _graph_count(driver: neo4j.Driver) -> int:
    return count(driver, "CALL gds.graph.list() YIELD graphName RETURN count(*)")


@pytest.fixture()
def population(neo4j_store: Neo4jStore) -> tuple[Neo4jStore, EmbeddedStore]:
    dataset = generate(3000, seed=5)
    apps = [N.application(from_flat(row)) for row in dataset.applications]
    embedded = EmbeddedStore("memory://")
    embedded.upsert(apps)
    neo4j_store.upsert(apps)
    return neo4j_store, embedded


@pytest.mark.parametrize(
    "kinds, max_applicants, min_size",
    [
        (("device", "phone", "email", "bank_account", "address"), 30, 3),
        (("device",), 5, 2),
        (("ip", "employer"), 2000, 2),
    ],
)
def test_gds_components_equal_the_default_implementation(
    population: tuple[Neo4jStore, EmbeddedStore],
    driver: neo4j.Driver,
    kinds: tuple[str, ...],
    max_applicants: int,
    min_size: int,
) -> None:
    neo, embedded = population
    want = embedded.linked_components(kinds, max_applicants, min_size)
    assert want
    assert neo.linked_components(kinds, max_applicants, min_size) == want
    # Excluding the identifiers of the first component splits or removes it, on both.
    exclude = list(want[0].identifiers[:1])
    assert neo.linked_components(kinds, max_applicants, min_size, exclude) == embedded.linked_components(
        kinds, max_applicants, min_size, exclude
    )
    assert neo.linked_components(("nothing",), max_applicants, min_size) == []
    assert _graph_count(driver) == 0


def test_louvain_splits_two_cliques_joined_by_one_identifier(neo4j_store: Neo4jStore, driver: neo4j.Driver) -> None:
    # Applicants 0-5 share three devices pairwise-densely, 6-11 likewise, and one phone joins 5 and 6.
    apps = []
    for n in range(12):
        side = n // 6
        for d in range(3):
            apps.append(app(100 * n + d, person=n, device=f"dfp-{side}-{d}"))
    apps.append(app(5000, person=5, phone="13700000000"))
    apps.append(app(5001, person=6, phone="13700000000"))
    neo4j_store.upsert(apps)
    (component,) = neo4j_store.linked_components(("device", "phone"), 30, 3)
    assert len(component.members) == 12
    communities = neo4j_store.split_communities(component, 30)
    assert sorted(len(c.members) for c in communities) == [6, 6]
    assert sorted(m for c in communities for m in c.members) == list(component.members)
    for community in communities:
        assert len(community.identifiers) == 3
        assert all(i.startswith("device:") for i in community.identifiers)
    assert _graph_count(driver) == 0


def test_projections_are_dropped_when_gds_fails(
    population: tuple[Neo4jStore, EmbeddedStore], driver: neo4j.Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    neo, _ = population
    gds = neo._gds._graph_data_science()
    real = gds.run_cypher

    def failing(query: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        if "gds.wcc.stream" in query or "gds.louvain.stream" in query:
            raise neo4j.exceptions.ServiceUnavailable("connection lost mid-run")
        return real(query, params, **kw)

    monkeypatch.setattr(gds, "run_cypher", failing)
    with pytest.raises(StoreUnavailable):
        neo.linked_components(("device", "phone"), 30, 3)
    component = LinkedComponent(("a", "b"), (Identifier("device", "x", "").node_id,))
    neo.split_communities(component, 30)  # nothing to project: no stream, no error
    assert _graph_count(driver) == 0
