"""The work queue and locks on each backend: work queued by the write that causes it (and
only if that write lands), claimed by one worker at a time, back after a dead worker's
lease, kept across restarts; locks held by one holder at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from graph.normalise import Identifier, NormalisedApplication
from graph.store import AuditEntry, Decision, GraphStore
from graph.store.work_queue import WorkItem
from tests.contract.conftest import Reopen

T0 = 1_760_000_000.0


def app(app_id: str, who: str, **props: object) -> NormalisedApplication:
    return NormalisedApplication(app_id, T0, who * 12, f"{who}**", (Identifier("device", "d1", "d1**"),), **props)  # type: ignore[arg-type]


def decision(app_id: str) -> Decision:
    return Decision(app_id, T0, 0.3, "medium", "step_up", [], "m1")


def audit(app_id: str) -> AuditEntry:
    return AuditEntry(T0, "scorer:test", "score", f"application:{app_id}", {})


def test_a_stored_application_queues_its_monitoring_in_its_own_transaction(backend: tuple[GraphStore, Reopen]) -> None:
    store, reopen = backend
    assert store.record_assessment(app("A1", "aa"), decision("A1"), audit("A1"), monitor=True).stored
    assert not store.record_assessment(app("A1", "aa"), decision("A1"), audit("A1"), monitor=True).stored
    store.record_assessment(app("A2", "bb"), decision("A2"), audit("A2"))  # not asked to queue
    with pytest.raises(Exception):  # noqa: B017 - each backend names the overflow its own way
        store.record_assessment(app("BAD", "cc", field_edits=2**64), decision("BAD"), audit("BAD"), monitor=True)
    store = reopen()
    assert store.pending_work() == 1
    (item,) = store.claim("w1", T0, 60.0, 10)
    assert (item.kind, item.subject, item.attempts) == ("monitor", "A1", 1)


def test_each_item_is_claimed_by_one_worker_and_a_dead_workers_come_back(backend: tuple[GraphStore, Reopen]) -> None:
    store, reopen = backend
    for n in range(12):
        store.enqueue("monitor", f"APP-{n:02d}", T0 + n)

    def worker(w: int) -> list[WorkItem]:
        # Racing workers may pick the same items: one gets each, the others look again.
        got: list[WorkItem] = []
        misses = 0
        while misses < 2:
            batch = store.claim(f"w{w}", T0, 60.0, 3)
            got += batch
            misses = 0 if batch else misses + 1
        return got

    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(worker, range(4)))
    claimed = [item.subject for batch in claims for item in batch]
    assert sorted(claimed) == [f"APP-{n:02d}" for n in range(12)], "every item once, none twice"
    assert store.claim("w9", T0 + 30, 60.0, 50) == [], "all held within their lease"
    assert claims[0], "worker 0 got some work"
    done = {item.seq for item in claims[0]}
    store.finish("w9", sorted(done))  # not its items: nothing happens
    store.finish("w0", sorted(done))
    store = reopen()
    assert store.pending_work() == 12 - len(done)
    back = store.claim("w9", T0 + 61, 60.0, 50)  # the other workers died: their leases ran out
    assert sorted(i.subject for i in back) == sorted(s for s in claimed if s not in {i.subject for i in claims[0]})
    assert all(i.attempts == 2 for i in back)
    store.finish("w9", [i.seq for i in back])
    assert store.pending_work() == 0


def test_a_lock_has_one_holder_until_released_or_expired(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    with ThreadPoolExecutor(6) as pool:
        won = list(pool.map(lambda n: store.acquire_lock("ring_run", f"p{n}", T0, 60.0), range(6)))
    assert won.count(True) == 1
    holder = f"p{won.index(True)}"
    other = "p9"
    assert store.acquire_lock("ring_run", holder, T0 + 1, 60.0), "a holder may renew"
    assert not store.acquire_lock("ring_run", other, T0 + 2, 60.0)
    store.release_lock("ring_run", other)  # not its lock: nothing happens
    assert not store.acquire_lock("ring_run", other, T0 + 3, 60.0)
    store.release_lock("ring_run", holder)
    assert store.acquire_lock("ring_run", other, T0 + 4, 60.0)
    assert store.acquire_lock("ring_run", holder, T0 + 4 + 61, 60.0), "an expired lease is free"
    assert store.acquire_lock("other_lock", other, T0, 60.0), "locks are by name"
