"""Online ring assignment through the HTTP service (embedded store): an application that
links over a specific identifier to a known ring is told that ring at once, a new dense
group gets a provisional ring, and the next batch run keeps the id (or gives the
provisional ring its proper id, with lineage)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from detectors.rings.online import WINDOW, links_of_snapshot, links_read
from detectors.rings.params import RingParams
from detectors.signals import DetectorParams
from fixtures.generator import generate
from graph.errors import InvalidInput
from graph.normalise import Normaliser
from graph.records import ApplicationRecord, from_flat
from graph.store import Label
from graph.store.embedded.store import EmbeddedStore
from graph.vocabulary import HUB_LIMIT
from tests.api.settle import settle
from tests.test_api import ADMIN, INVESTIGATOR, SCORER, application


@pytest.fixture()
def store() -> Iterator[EmbeddedStore]:
    s = EmbeddedStore("memory://")
    yield s
    s.close()


@pytest.fixture()
def client(store: EmbeddedStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(graph_url="memory://"), store)) as c:
        yield c


def operator(n: int, device: str, minute: int, **changes: Any) -> dict[str, Any]:
    """A ring member's application: a shared device, a fresh account, a hurried, unedited form."""
    body = application(n, **changes)
    body["submitted_at"] = f"2026-11-20T10:{minute:02d}:00Z"
    body["applicant"]["account_created_at"] = f"2026-11-20T09:{minute:02d}:00Z"
    body["device"] = {"fingerprint": device, "ip": f"198.51.100.{n % 250}"}
    body["behaviour"] = {"form_fill_seconds": 15, "field_edits": 0}
    return body


def _post(client: TestClient, body: dict[str, Any], key: dict[str, str] = INVESTIGATOR) -> dict[str, Any]:
    r = client.post("/v1/applications", json=body, headers=key)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _run(client: TestClient) -> dict[str, Any]:
    r = client.post("/v1/rings/runs", json={}, headers=ADMIN)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _ring_of(client: TestClient, applicant_id: str) -> str | None:
    r = client.get(f"/v1/applicants/{applicant_id}", headers=INVESTIGATOR)
    assert r.status_code == 200, r.text
    ring: str | None = r.json()["ring"]
    return ring


def test_an_application_that_joins_a_known_ring_is_told_the_ring_and_a_batch_run_keeps_it(
    client: TestClient, store: EmbeddedStore
) -> None:
    for n in range(1, 6):
        _post(client, operator(n, "dfp-ring-a", n, phone="+86 139 0000 0001"))
    _run(client)
    (ring,) = store.rings()
    newcomer = _post(client, operator(6, "dfp-ring-a", 20))
    assert newcomer["ring"] == {
        "ring_id": ring.ring_id,
        "joined": True,
        "provisional": False,
        "lineage": ring.lineage,
    }
    assert ring.ring_id.startswith("RING-") and ring.lineage["event"] == "new"
    applicant = newcomer["applicant_id"]
    assert _ring_of(client, applicant) == ring.ring_id, "the applicant's file names the ring it joined"
    assert applicant.removeprefix("applicant:") not in ring.members

    summary = _run(client)
    (after,) = store.rings()
    assert after.ring_id == ring.ring_id and after.lineage["event"] == "grown"
    assert applicant.removeprefix("applicant:") in after.members
    assert summary["counts"]["online_joins"] == 1
    assert store.ring_joins() == [], "the run settled the join"
    assert _ring_of(client, applicant) == ring.ring_id
    again = _post(client, operator(6, "dfp-ring-a", 20))
    assert again["replayed"] and again["ring"]["ring_id"] == ring.ring_id and not again["ring"]["joined"]


def test_an_unlinked_application_has_no_ring(client: TestClient) -> None:
    for n in range(1, 6):
        _post(client, operator(n, "dfp-ring-b", n, phone="+86 139 0000 0002"))
    _run(client)
    loner = _post(client, operator(7, "dfp-own-7", 30))
    assert loner["ring"] is None
    assert _ring_of(client, loner["applicant_id"]) is None


def test_a_new_dense_group_gets_a_provisional_ring_that_the_batch_run_names(
    client: TestClient, store: EmbeddedStore
) -> None:
    first = _post(client, operator(11, "dfp-burst", 1))
    second = _post(client, operator(12, "dfp-burst", 2))
    assert first["ring"] is None and second["ring"] is None, "a pair is never a ring"
    third = _post(client, operator(13, "dfp-burst", 3), key=SCORER)
    ring = third["ring"]
    assert ring["ring_id"].startswith("PROV-") and ring["joined"] and ring["provisional"]
    assert not any(a.removeprefix("applicant:") in str(ring) for a in (first["applicant_id"], second["applicant_id"]))
    assert _ring_of(client, first["applicant_id"]) == ring["ring_id"], "the whole group joined the provisional ring"
    fourth = _post(client, operator(14, "dfp-burst", 4))
    assert fourth["ring"]["ring_id"] == ring["ring_id"] and fourth["ring"]["provisional"]

    _run(client)
    (batch,) = store.rings()
    assert batch.ring_id.startswith("RING-") and batch.lineage["from_provisional"] == ring["ring_id"]
    assert _ring_of(client, third["applicant_id"]) == batch.ring_id
    fifth = _post(client, operator(15, "dfp-burst", 5))
    assert fifth["ring"]["ring_id"] == batch.ring_id and not fifth["ring"]["provisional"]
    assert fifth["ring"]["lineage"]["from_provisional"] == ring["ring_id"]


def test_a_shared_ip_links_nobody_into_a_provisional_ring(client: TestClient) -> None:
    """Applicants sharing only an IP (not a ring kind) form no ring."""
    bodies = [operator(20 + n, f"dfp-own-{n}", n) for n in range(4)]
    for body in bodies:
        body["device"]["ip"] = "203.0.113.99"
    answers = [_post(client, body) for body in bodies]
    assert [a["ring"] for a in answers] == [None] * 4


def test_monitoring_alerts_name_the_ring_of_an_online_member(client: TestClient, store: EmbeddedStore) -> None:
    """A loaded ring (bulk-loaded: never scored online) is found by a run; a newcomer joins
    it online and the members it links to are re-scored: their alerts name the ring, and so
    does every alert raised on a ring member."""
    desk = client.app.state.desk  # type: ignore[attr-defined]
    loaded = [
        desk.normalise(ApplicationRecord.model_validate(operator(n, "dfp-ring-c", n - 30, phone="+86 139 0000 0003")))
        for n in range(31, 36)
    ]
    store.upsert(loaded)
    _run(client)
    (ring,) = store.rings()
    newcomer = _post(client, operator(36, "dfp-ring-c", 10))
    assert newcomer["ring"]["ring_id"] == ring.ring_id
    settle(client)
    alerts = client.get("/v1/alerts", headers=INVESTIGATOR).json()
    assert alerts, "the newcomer's linked members are re-scored and alerted"
    assert {a["applicant_id"] for a in alerts} <= {f"applicant:{a.applicant_key}" for a in loaded}
    assert {a["detail"]["ring_id"] for a in alerts} == {ring.ring_id}
    assert {a["trigger"] for a in alerts} == {"joined:APP-000036"}


@pytest.mark.parametrize("hub_limit", [4, HUB_LIMIT])
def test_the_links_from_the_scoring_snapshot_are_those_a_read_after_the_write_finds(hub_limit: int) -> None:
    """The hot path takes whom a stored application links to from its scoring snapshot
    (no read) instead of reading labels and identifier usage again after the write; on
    generated data (rings, households, kiosks; a small hub limit puts many identifiers at
    the hub boundary) both give the same links for every application."""
    dataset = generate(1500, seed=9)
    normaliser = Normaliser(b"online-links-key-0123456789", "CN")
    apps = []
    for row in dataset.applications:
        with contextlib.suppress(InvalidInput):  # the generator plants a few rows the input rules refuse
            apps.append(normaliser.application(from_flat(row)))
    apps.sort(key=lambda a: (a.ts, a.application_id))
    shared = Counter(i.node_id for a in apps for i in a.identifiers if i.kind in ("device", "phone"))
    detector = replace(DetectorParams(), hub_limit=hub_limit)
    params = RingParams()
    store = EmbeddedStore("memory://")
    try:
        (kiosk, _), (household, _) = shared.most_common(2)
        store.set_label(Label(kiosk, "allow_listed", "analyst", 0.0, "a kiosk"))
        store.set_label(Label(household, "cleared", "analyst", 0.0, "a household"))
        compared = linked = 0
        for n, app in enumerate(apps):
            snapshot = store.snapshot(app, app.ts, hub_limit)
            store.upsert([app])
            if n + 1 < len(apps) and apps[n + 1].ts < app.ts + 1.0:
                continue  # a later application in the same second is not in the snapshot by design
            got = links_of_snapshot(snapshot, app, detector, params, WINDOW)
            assert got == links_read(store, app, detector, params, WINDOW), app.application_id
            compared += 1
            linked += bool(got.via_of)
        assert compared > 1400 and linked > 40, (compared, linked)
    finally:
        store.close()
