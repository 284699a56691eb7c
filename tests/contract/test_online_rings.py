"""What the online-rings seam promises (:mod:`graph.store.online_rings`), on every backend:
a join is stored once per applicant and outlives a restart, a membership read answers the
batch ring first and an online join otherwise, and settling removes exactly the joins a
run read."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api.http.routes.scoring import EXAMPLE
from api.service.desk import FraudDesk
from detectors.score import Scorer
from graph.normalise import Normaliser
from graph.records import parse_record
from graph.store import GraphStore, RingRecord
from graph.store.online_rings import OnlineRings, RingJoin
from tests.contract.conftest import Reopen
from tests.contract.test_contract import DAY, T0, app

NOW = 1_795_300_000.0


def _seam(store: GraphStore) -> OnlineRings:
    assert isinstance(store, OnlineRings), type(store)
    return store


def _batch(store: GraphStore) -> None:
    """Three applicants sharing a device, written as one batch ring."""
    store.upsert([app(f"B{n}", who, T0 + n, "device:ring") for n, who in enumerate(("aa", "bb", "cc"))])
    members = tuple(who * 12 for who in ("aa", "bb", "cc"))
    lineage = {"event": "new", "previous": [], "first_run": "run-1"}
    store.write_rings("run-1", T0, [RingRecord("RING-0000000A", "run-1", members, 0.7, {}, ("device:ring",), lineage)])


def test_a_join_is_stored_once_per_applicant_and_survives_a_restart(backend: tuple[GraphStore, Reopen]) -> None:
    store, reopen = backend
    _batch(store)
    store.upsert([app("N1", "dd", T0 + DAY, "device:ring", "phone:p1")])
    seam = _seam(store)
    first = seam.join_ring("RING-0000000A", "d" * 24, ["device:ring"], T0 + DAY, lineage={"event": "new"})
    again = seam.join_ring("PROV-00000001", "d" * 24, ["phone:p1"], T0 + 2 * DAY, provisional=True)
    assert first == RingJoin("d" * 24, "RING-0000000A", ("device:ring",), T0 + DAY, False, {"event": "new"})
    assert again == first, "an applicant joins one ring between runs; the first join stays"
    seam = _seam(reopen())
    assert seam.ring_joins() == [first]
    found = seam.ring_memberships(["d" * 24, "a" * 24, "zz" * 12])
    assert set(found) == {"d" * 24, "a" * 24}, "an applicant with no ring is absent"
    joined, member = found["d" * 24], found["a" * 24]
    assert (joined.ring_id, joined.joined, joined.provisional) == ("RING-0000000A", True, False)
    assert (member.ring_id, member.joined, member.lineage["first_run"]) == ("RING-0000000A", False, "run-1")


def test_a_batch_ring_answers_before_a_join_and_a_new_run_replaces_the_members(
    backend: tuple[GraphStore, Reopen],
) -> None:
    store, _ = backend
    _batch(store)
    seam = _seam(store)
    seam.join_ring("PROV-00000001", "a" * 24, ["device:ring"], T0, provisional=True)
    assert seam.ring_memberships(["a" * 24])["a" * 24].ring_id == "RING-0000000A"
    store.write_rings("run-2", T0 + DAY, [])  # the run retired the ring
    now = seam.ring_memberships(["a" * 24])["a" * 24]
    assert (now.ring_id, now.joined, now.provisional) == ("PROV-00000001", True, True)


def test_settling_removes_exactly_the_joins_a_run_read(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    store.upsert([app(f"P{n}", who, T0 + n, "device:new") for n, who in enumerate(("ee", "ff", "gg"))])
    seam = _seam(store)
    for who in ("ee", "ff", "gg"):
        seam.join_ring(
            "PROV-00000002", who * 12, ["device:new"], T0, provisional=True, lineage={"event": "provisional"}
        )
    read = seam.ring_joins()
    assert [j.applicant_key for j in read] == ["e" * 24, "f" * 24, "g" * 24]
    assert all(j.provisional and j.lineage == {"event": "provisional"} for j in read)
    late = seam.join_ring("PROV-00000003", "h" * 24, ["device:other"], T0 + DAY, provisional=True)
    assert seam.settle_ring_joins(read) == 3
    assert seam.settle_ring_joins(read) == 0
    assert seam.ring_joins() == [late], "a join recorded after the run read the joins stays"
    assert seam.ring_memberships(["e" * 24, "h" * 24]).keys() == {"h" * 24}


def test_storing_an_application_reads_whom_it_links_to_only_in_its_snapshot(
    backend: tuple[GraphStore, Reopen], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path's store calls for a stored application that joins a known ring: the
    snapshot, the write, one membership read and the join; labels and identifier usage
    are not read again after the write (each was a Neo4j round trip)."""
    store, _ = backend
    desk = FraudDesk(store, Normaliser(b"contract-online-key-0123456789", "CN"), Scorer.default(), clock=lambda: NOW)
    ring = []
    for n in range(1, 5):
        body = copy.deepcopy(EXAMPLE)
        body.update(application_id=f"APP-K{n}", email=f"k{n}@example.com", phone=f"+86 139 0000 00{n:02d}")
        body["applicant"]["national_id"] = f"11010119900310{n:04d}"
        body["device"] = {"fingerprint": "dfp-kit", "ip": f"198.51.100.{n}"}
        body["submitted_at"] = f"2026-11-20T10:{n:02d}:00Z"
        body["applicant"]["account_created_at"] = "2026-11-20T09:00:00Z"
        ring.append(body)
    for body in ring[:3]:
        desk.assess(parse_record(body), persist=True, actor="scorer:test")
    calls: list[str] = []
    after_write = [False]
    for name in ("snapshot", "labels", "identifier_usage", "ring_memberships", "join_ring", "record_assessment"):
        method = getattr(store, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            if after_write[0] or _name in ("snapshot", "record_assessment"):
                calls.append(_name)
            if _name == "record_assessment":
                after_write[0] = True
            return _method(*args, **kwargs)

        monkeypatch.setattr(store, name, counted)
    done = desk.assess(parse_record(ring[3]), persist=True, actor="scorer:test")
    assert done.ring is not None and done.ring.provisional, done.ring
    assert calls == ["snapshot", "record_assessment", "ring_memberships", "join_ring"], calls
