"""The embedded store's own promises, beyond the cross-backend contract.

- It answers every read exactly as the wave-1 embedded store did (the implementation
  with proven parity with Neo4j, read from git as the reference), on the checked-in
  sample and on a generated population, through every path of the index (the tail of
  online writes, merges, rebuilds, short and long identifiers).
- Its index is saved beside the database and reused: a reopen does not rebuild, a process
  killed after acknowledged writes costs a short catch-up, and a foreign, damaged or stale
  index is rebuilt, never trusted.
- A wave-1 database is migrated, not refused.
- One writer process; a failed write leaves nothing behind; concurrent sends store once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import graph.store.embedded.index as index_module
import graph.store.embedded.keys as keys_module
import graph.store.embedded.store as store_module
from fixtures.generator import generate
from graph.errors import Conflict, InvalidInput, StoreUnavailable
from graph.loading import LoadReport, iter_rows, load_applications, normalise_rows
from graph.normalise import Identifier, NormalisedApplication, Normaliser
from graph.records import from_flat
from graph.store import AuditEntry, Decision, GraphStore, Label
from graph.store import snapshot as snapshot_module
from graph.store.embedded.index import build, merge
from graph.store.embedded.keys import KeyTable
from graph.store.embedded.lock import StoreInUse
from graph.store.embedded.persist import index_dir
from graph.store.embedded.store import EmbeddedStore
from graph.vocabulary import HUB_LIMIT, applicant_node

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
REFERENCE_COMMIT = "8501193"
"""The last commit of the wave-1 embedded store (graph/store/embedded/store.py)."""
PII_KEY = b"test-key-0123456789"
LABELLED_AT = 1_700_000_000.0
DAY = 86400.0
RING_KINDS = ("device", "phone", "email", "bank_account", "address")


# -- the reference ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The wave-1 embedded store module, as it was at :data:`REFERENCE_COMMIT`."""
    try:
        source = subprocess.run(
            ["git", "show", f"{REFERENCE_COMMIT}:graph/store/embedded/store.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the reference implementation is read from git ({REFERENCE_COMMIT}): {exc}")
    path = tmp_path_factory.mktemp("reference") / "reference_embedded.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("reference_embedded", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    # It implements the wave-1 reads this suite compares; the seams added since (cases,
    # seals, the work queue ...) are not its concern, so it may be built without them.
    module.EmbeddedStore.__abstractmethods__ = frozenset()
    return module


def _normalised(path: Path) -> list[NormalisedApplication]:
    normaliser = Normaliser(PII_KEY, "CN")
    apps: list[NormalisedApplication] = []
    for rows in iter_rows(path / "applications.csv", 5000):
        apps.extend(normalise_rows(rows, normaliser, 0, LoadReport()))
    return apps


def _bad_actor_labels(path: Path) -> list[Label]:
    normaliser = Normaliser(PII_KEY, "CN")
    import csv

    with (path / "bad_actors.csv").open() as fh:
        return [
            Label(normaliser.node_for(row["kind"], row["value"]), "confirmed_fraud", "import", LABELLED_AT, "listed")
            for row in csv.DictReader(fh)
        ]


def _fill(stores: list[GraphStore], apps: list[NormalisedApplication], labels: list[Label], seed: int) -> None:
    """The same applications into every store, in batches of mixed sizes (single online
    writes, small batches that go to the tail, bulk ones that are queued)."""
    rng = random.Random(seed)
    at = 0
    while at < len(apps):
        batch = apps[at : at + rng.choice([1, 2, 7, 60, 400, 1500])]
        counts = {store.upsert(batch) for store in stores}
        assert counts == {len(batch)}
        at += len(batch)
    for store in stores:
        for label in labels:
            store.set_label(label)


def _identifiers(apps: list[NormalisedApplication]) -> list[str]:
    return sorted({i.node_id for a in apps for i in a.identifiers})


def _cuts(apps: list[NormalisedApplication]) -> list[float]:
    times = sorted(a.ts for a in apps)
    return [times[len(times) // 10], times[len(times) // 2], times[-1], float("inf"), float("nan"), -1.0]


def assert_same_answers(
    want: GraphStore, got: GraphStore, apps: list[NormalisedApplication], seed: int = 1, size: int = 100
) -> None:
    """Every read of the reader and batch seams gives the same answer on both stores (dict
    and tuple orders included), on a seeded sample of ``size`` applications, applicants
    and starting nodes."""
    rng = random.Random(seed)
    cuts = _cuts(apps)
    assert got.stats() == want.stats() and list(got.stats()) == list(want.stats())
    assert got.labels() == want.labels()
    idents = _identifiers(apps)
    asked = [*idents, "device:unknown", "applicant:x", "nonsense", "device:"]
    combinations = [
        (w, lim, t)
        for w, lim in ((30 * DAY, 30), (0.0, 3), (365 * DAY, 1000), (float("inf"), 5), (DAY, 0))
        for t in cuts
    ]
    for window, limit, as_of in rng.sample(combinations, max(4, size // 10)):
        a, b = want.identifier_usage(asked, as_of, window, limit), got.identifier_usage(asked, as_of, window, limit)
        assert list(b) == list(a), (window, as_of)
        for nid, usage in a.items():
            assert b[nid] == usage, (nid, window, as_of)
    keys = [*sorted({a.applicant_key for a in apps}), "nobody"]
    for as_of in cuts:
        assert got.applicant_identifiers(keys, as_of) == want.applicant_identifiers(keys, as_of)
    for app in rng.sample(apps, min(3 * size, len(apps))):
        assert got.application(app.application_id) == want.application(app.application_id)
    assert got.application("APP-NOT-THERE") is None
    for key in rng.sample(keys, min(2 * size, len(keys))):
        assert got.applicant_applications(key) == want.applicant_applications(key)
        assert got.applicant_applications(key, cuts[1]) == want.applicant_applications(key, cuts[1])
    some = [*rng.sample(keys, min(100, len(keys))), keys[0], "nobody"]
    assert list(got.applications_of(some).items()) == list(want.applications_of(some).items())
    for bound in ("", "0", "4", "a", "f", "zz", keys[len(keys) // 3][:5]):
        assert got.applicants_below(bound) == want.applicants_below(bound), bound
    nodes = [*idents, *(applicant_node(k) for k in keys), *(a.node_id for a in apps[:200])]
    nodes += ["device:unknown", "application:APP-NOT-THERE", "nonsense"]
    assert got.node_display(nodes) == want.node_display(nodes)
    assert got.applicants_exist(keys) == want.applicants_exist(keys)
    assert list(got.links()) == list(want.links())
    for app in rng.sample(apps, min(size, len(apps))):
        for as_of in (app.ts, rng.choice([app.ts + 1.0, float("inf")])):
            for hub_limit in (HUB_LIMIT, 4):
                a, b = want.snapshot(app, as_of, hub_limit), got.snapshot(app, as_of, hub_limit)
                assert b == a, app.application_id
                for part in ("usage", "neighbours", "far_usage", "labels"):
                    assert list(getattr(b, part)) == list(getattr(a, part)), part
    usage = want.identifier_usage(idents, float("inf"), 0.0, 100_000)
    shared = sorted(n for n, u in usage.items() if u.applicants >= 2)
    hubs = sorted(n for n, u in usage.items() if u.applicants > HUB_LIMIT)
    few = max(3, size // 10)
    starts = [*(a.applicant_node for a in rng.sample(apps, few)), *(a.node_id for a in rng.sample(apps, few))]
    starts += rng.sample(shared, few)
    starts += [*hubs[:2], "device:unknown", "applicant:nobody", "application:APP-NOT-THERE", "nonsense"]
    for start in starts:
        for depth, limit in ((1, 500), (2, 200), (3, 60), (4, 40), (0, 10)):
            assert got.neighbourhood(start, depth, limit) == want.neighbourhood(start, depth, limit), start
    exclude = sorted(rng.sample(shared, 5))
    for most, least in ((30, 3), (30, 2), (5, 2), (1000, 1)):
        assert got.linked_components(RING_KINDS, most, least, exclude) == want.linked_components(
            RING_KINDS, most, least, exclude
        )
    for similarity in (0.3, 0.6, 1.0):
        for min_shared in (1, 2):
            assert got.look_alikes(RING_KINDS, 30, similarity, min_shared, exclude) == want.look_alikes(
                RING_KINDS, 30, similarity, min_shared, exclude
            )
    components = want.linked_components(RING_KINDS, 30, 3, exclude)
    assert components, "the data should hold rings"
    for component in sorted(components, key=lambda c: -len(c.members))[:3]:
        assert got.split_communities(component, 30) == want.split_communities(component, 30)


# -- identical answers -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_apps() -> list[NormalisedApplication]:
    return _normalised(SAMPLE)


@pytest.mark.parametrize(
    "small, tail_limit, tail_batch",
    [
        pytest.param(index_module.SMALL, index_module.TAIL_LIMIT, index_module.TAIL_BATCH, id="defaults"),
        pytest.param(0, 50, 1, id="long-path-frequent-merges"),
        pytest.param(10**9, 10**9, 10**9, id="short-path-all-in-the-tail"),
        pytest.param(3, 40, 5, id="mixed"),
    ],
)
def test_the_sample_reads_as_the_reference_reads_it(
    reference: ModuleType,
    sample_apps: list[NormalisedApplication],
    monkeypatch: pytest.MonkeyPatch,
    small: int,
    tail_limit: int,
    tail_batch: int,
) -> None:
    monkeypatch.setattr(index_module, "SMALL", small)
    monkeypatch.setattr(index_module, "TAIL_LIMIT", tail_limit)
    monkeypatch.setattr(index_module, "TAIL_BATCH", tail_batch)
    want, got = reference.EmbeddedStore("memory://"), EmbeddedStore("memory://")
    _fill([want, got], sample_apps, _bad_actor_labels(SAMPLE), seed=small)
    thorough = small == index_module.SMALL and tail_limit == index_module.TAIL_LIMIT
    assert_same_answers(want, got, sample_apps, seed=small % 97, size=200 if thorough else 60)


def test_a_generated_population_reads_as_the_reference_reads_it(
    reference: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = generate(5000, seed=41)
    normaliser = Normaliser(PII_KEY, "CN")
    apps = []
    for row in data.applications:
        try:
            apps.append(normaliser.application(from_flat(row)))
        except InvalidInput:
            continue
    labels = [
        Label(normaliser.node_for(str(r["kind"]), str(r["value"])), "confirmed_fraud", "import", LABELLED_AT, "l")
        for r in data.bad_actors
    ]
    # small merge thresholds, so key merges and tail compactions happen many times
    monkeypatch.setattr(keys_module, "MERGE_AT", 500)
    monkeypatch.setattr(index_module, "TAIL_LIMIT", 300)
    want = reference.EmbeddedStore("memory://")
    got = EmbeddedStore(f"sqlite:///{tmp_path / 'generated.db'}")
    _fill([want, got], apps, labels, seed=41)
    kiosk = max(
        want.identifier_usage(_identifiers(apps), float("inf"), 0.0, 10**6).values(), key=lambda u: u.applicants
    )
    for store in (want, got):
        store.set_label(Label(kiosk.node_id, "allow_listed", "analyst", LABELLED_AT, "kiosk"))
    assert_same_answers(want, got, apps, seed=2, size=100)
    got.close()
    reopened = EmbeddedStore(f"sqlite:///{tmp_path / 'generated.db'}")
    assert reopened.opened.how == "loaded" and reopened.opened.caught_up == 0
    assert_same_answers(want, reopened, apps, seed=3, size=40)
    reopened.close()


def test_the_snapshot_is_assembled_from_the_point_reads(sample_apps: list[NormalisedApplication]) -> None:
    store = EmbeddedStore("memory://")
    _fill([store], sample_apps, _bad_actor_labels(SAMPLE), seed=5)
    for app in random.Random(9).sample(sample_apps, 200):
        for as_of in (app.ts, app.ts + 30 * DAY):
            want = snapshot_module.assemble(store, store.labels, app, as_of, HUB_LIMIT)
            assert store.snapshot(app, as_of, HUB_LIMIT) == want


# -- the index's parts -------------------------------------------------------------------------------------
def test_merging_applications_into_the_arrays_gives_what_a_rebuild_gives() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n, k = int(rng.integers(0, 50)), int(rng.integers(1, 25))
        m, p = int(rng.integers(1, 12)), int(rng.integers(1, 10))
        ts = rng.integers(0, 15, n + k).astype(float)
        who = rng.integers(0, p, n + k).astype(np.int32)
        ptr = np.zeros(n + k + 1, np.int64)
        np.cumsum(rng.integers(0, 4, n + k), out=ptr[1:])
        idents = rng.integers(0, m, int(ptr[-1])).astype(np.int32)
        before_m = int(idents[: ptr[n]].max() + 1) if ptr[n] else 0
        before_p = int(who[:n].max() + 1) if n else 0
        frozen = build(ts[:n], who[:n], ptr[: n + 1], idents[: ptr[n]], before_m, before_p)
        merged = merge(frozen, ts[n:], who[n:], ptr[n:] - ptr[n], idents[ptr[n] :], m, p)
        rebuilt = build(ts, who, ptr, idents, m, p)
        for name, array in rebuilt.arrays().items():
            assert np.array_equal(merged.arrays()[name], array), name


def test_key_tables_find_every_key_and_only_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    monkeypatch.setattr(keys_module, "MERGE_AT", 16)
    table, known = KeyTable(), {}
    shared = [rng.getrandbits(64) for _ in range(4)]

    def a_key() -> str:
        roll = rng.random()
        if roll < 0.1:
            return f"hand-made-{rng.randrange(40)}"  # not a packed key
        if roll < 0.15:
            return "0" * 24  # packs to the same bytes as the placeholder of hand-made keys
        if roll < 0.4:
            return f"{rng.choice(shared):016x}{rng.getrandbits(32):08x}"  # shared 8-byte prefixes
        if roll < 0.45:
            return f"{rng.getrandbits(96):024x}".upper()
        return f"{rng.getrandbits(96):024x}"

    for _ in range(60):
        batch = [(rng.randrange(3), a_key()) for _ in range(rng.choice([1, 4, 30]))]
        ids, first = table.resolve([k for k, _ in batch], [key for _, key in batch])
        fresh = [batch[j] for j in first]
        assert len(set(fresh)) == len(fresh) and not set(fresh) & set(known)
        for name, i in zip(batch, ids, strict=True):
            assert known.get(name, i) == i
        table.add_many([k for k, _ in fresh], [key for _, key in fresh], [f"shown {key}" for _, key in fresh])
        known.update({name: table.n - len(fresh) + j for j, name in enumerate(fresh)})
        probes = [*known, (0, "absent"), (1, "f" * 24)]
        found = table.find_many([k for k, _ in probes], [key for _, key in probes]).tolist()
        assert found == [known.get(p, -1) for p in probes] == [table.find(*p) for p in probes]
        assert all((table.kind(i), table.key(i)) == name for name, i in known.items())
        assert all(table.display(i) == f"shown {name[1]}" for name, i in known.items())
        for bound in ("", "0", "7", "a", "hand-made-2", "zzz"):
            assert table.sorted_below(bound) == sorted(key for _, key in known if key < bound)


# -- persistence ------------------------------------------------------------------------------------------
def _store_file(tmp_path: Path, name: str = "s.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def _app(app_id: str, who: str, ts: float, *node_ids: str, **props: Any) -> NormalisedApplication:
    idents = tuple(Identifier(n.split(":")[0], n.split(":")[1], n.split(":")[1][:3] + "*") for n in node_ids)
    return NormalisedApplication(app_id, ts, who, who[:2] + "**", idents, **props)


def _hexkey(n: int) -> str:
    return f"{n:024x}"


def test_reopening_uses_the_saved_index_and_answers_the_same(
    sample_apps: list[NormalisedApplication], tmp_path: Path
) -> None:
    url = _store_file(tmp_path)
    store = EmbeddedStore(url)
    assert store.opened.how == "rebuilt" and store.opened.reason == "no saved index"
    load_applications(store, Normaliser(PII_KEY, "CN"), SAMPLE, workers=1)
    memory = EmbeddedStore("memory://")
    memory.upsert(sample_apps)
    store.close()
    assert (index_dir(str(tmp_path / "s.db")) / "manifest.json").exists()
    again = EmbeddedStore(url)
    assert (again.opened.how, again.opened.caught_up) == ("loaded", 0)
    assert_same_answers(memory, again, sample_apps, size=40)
    extra = _app("APP-AFTER", sample_apps[0].applicant_key, sample_apps[-1].ts + 10, "device:" + _hexkey(7))
    assert again.upsert([extra]) == memory.upsert([extra]) == 1
    again.close()
    third = EmbeddedStore(url)
    assert (third.opened.how, third.opened.caught_up) == ("loaded", 0)
    assert third.application("APP-AFTER") == memory.application("APP-AFTER")
    assert third.stats() == memory.stats()
    third.close()


def test_a_bulk_load_saves_the_index_as_it_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "SAVE_EVERY", 500)
    store = EmbeddedStore(_store_file(tmp_path))
    apps = [_app(f"A{i}", _hexkey(i % 700), float(i), f"device:{_hexkey(i % 900)}") for i in range(2000)]
    for start in range(0, 2000, 400):
        store.upsert(apps[start : start + 400])
    # saved once 500 were unsaved (at 800), then once as many as saved were added again (at 1600)
    manifest = json.loads((index_dir(str(tmp_path / "s.db")) / "manifest.json").read_text())
    assert manifest["applications"] == 1600
    store.close()
    reopened = EmbeddedStore(_store_file(tmp_path))
    assert (reopened.opened.how, reopened.opened.caught_up) == ("loaded", 0)
    reopened.close()


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from graph.normalise import Identifier, NormalisedApplication
    from graph.store import AuditEntry, Decision
    from graph.store.embedded.store import EmbeddedStore

    store = EmbeddedStore(sys.argv[1])
    print("open", flush=True)
    for n in range(100_000):
        who = f"{n % 37:024x}"
        app = NormalisedApplication(
            f"LIVE-{n}", 1000.0 + n, who, "k***",
            (Identifier("device", f"{n % 11 + 5000:024x}", "dfp-*"), Identifier("phone", f"{n:024x}", "+86*")),
        )
        done = store.record_assessment(
            app, Decision(app.application_id, 1000.0 + n, 0.5, "medium", "review", [], "m-1"),
            AuditEntry(1000.0 + n, "scorer", "score", app.application_id, {"n": n}),
        )
        print(f"ack {app.application_id} {done.stored}", flush=True)
    """
)


def test_a_killed_writer_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    url = _store_file(tmp_path)
    store = EmbeddedStore(url)
    store.upsert([_app(f"OLD-{i}", _hexkey(i % 37), float(i), f"device:{_hexkey(i % 11 + 5000)}") for i in range(500)])
    store.close()
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER)
    child = subprocess.Popen(
        [sys.executable, str(script), url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    acked = []
    try:
        assert child.stdout.readline().strip() == "open"
        while len(acked) < 300:
            line = child.stdout.readline().split()
            assert line and line[0] == "ack" and line[2] == "True", line
            acked.append(line[1])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    store = EmbeddedStore(url)
    assert store.opened.how == "loaded" and store.opened.caught_up >= len(acked)
    for app_id in acked:
        assert store.application(app_id) is not None
        assert len(store.decisions(app_id)) == 1
        assert len(store.audit(app_id)) == 1
    # the caught-up index answers what a full rebuild of the same database answers
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("s.db", "s.db-wal", "s.db-shm"):
        if (tmp_path / name).exists():
            shutil.copy(tmp_path / name, copy / name)
    rebuilt = EmbeddedStore(f"sqlite:///{copy / 's.db'}")
    assert rebuilt.opened.how == "rebuilt"
    live = [a for a in (store.application(i) for i in acked[-40:]) if a is not None]
    assert store.stats() == rebuilt.stats() and sorted(store.links()) == sorted(rebuilt.links())
    for app in live:
        assert store.snapshot(app, app.ts, HUB_LIMIT) == rebuilt.snapshot(app, app.ts, HUB_LIMIT)
    store.close()
    rebuilt.close()


def _saved(tmp_path: Path, name: str, apps: list[NormalisedApplication]) -> str:
    url = _store_file(tmp_path, name)
    store = EmbeddedStore(url)
    store.upsert(apps)
    store.close()
    return url


def test_a_foreign_damaged_or_stale_index_is_rebuilt(tmp_path: Path) -> None:
    first = [_app(f"A{i}", _hexkey(i % 13), float(i), f"device:{_hexkey(i % 7 + 100)}") for i in range(300)]
    second = [_app(f"B{i}", _hexkey(i % 5 + 50), float(i), f"phone:{_hexkey(i % 3)}") for i in range(300)]
    url_a = _saved(tmp_path, "a.db", first)
    _saved(tmp_path, "b.db", second)
    dir_a, dir_b = index_dir(str(tmp_path / "a.db")), index_dir(str(tmp_path / "b.db"))

    def opened(url: str) -> tuple[str, str, dict[str, int]]:
        store = EmbeddedStore(url)
        try:
            return store.opened.how, store.opened.reason, store.stats()
        finally:
            store.close()

    stats_a = opened(url_a)[2]
    assert opened(url_a)[:2] == ("loaded", "")
    # foreign: b's index beside a's database
    shutil.rmtree(dir_a)
    shutil.copytree(dir_b, dir_a)
    how, reason, stats = opened(url_a)
    assert (how, stats) == ("rebuilt", stats_a) and "another database" in reason
    # damaged: one byte of one array changed
    victim = dir_a / "graph.iu_ts.npy"
    data = bytearray(victim.read_bytes())
    data[-3] ^= 0xFF
    victim.write_bytes(bytes(data))
    how, reason, stats = opened(url_a)
    assert (how, stats) == ("rebuilt", stats_a) and "damaged" in reason
    # unreadable manifest
    (dir_a / "manifest.json").write_text("{not json")
    how, reason, stats = opened(url_a)
    assert (how, stats) == ("rebuilt", stats_a) and "manifest" in reason
    # stale: an index covering more than the database (the database restored from a copy)
    backup = tmp_path / "a-backup.db"
    shutil.copy(tmp_path / "a.db", backup)
    store = EmbeddedStore(url_a)
    store.upsert([_app("A-LATER", _hexkey(1), 999.0, f"device:{_hexkey(100)}")])
    store.close()
    shutil.copy(backup, tmp_path / "a.db")
    how, reason, stats = opened(url_a)
    assert (how, stats) == ("rebuilt", stats_a) and "covers 301 applications" in reason
    # diverged: same counts, other rows (a copied database written differently)
    shutil.copy(backup, tmp_path / "a.db")
    store = EmbeddedStore(url_a)
    store.upsert([_app("A-LATER", _hexkey(1), 999.0, f"device:{_hexkey(100)}")])
    store.close()
    shutil.copy(backup, tmp_path / "a.db")
    db = sqlite3.connect(tmp_path / "a.db")
    db.execute(
        "INSERT INTO applications (id, application_id, applicant, applicant_display, ts, identifiers) "
        "VALUES (300, 'A-OTHER', 2, 'x', 5.0, x'')"
    )
    db.commit()
    db.close()
    how, reason, stats = opened(url_a)
    assert how == "rebuilt" and "differs from the database" in reason and stats["applications"] == 301


# -- migration ----------------------------------------------------------------------------------------------
def test_a_wave1_database_is_migrated_with_its_answers(
    reference: ModuleType, sample_apps: list[NormalisedApplication], tmp_path: Path
) -> None:
    url = _store_file(tmp_path, "wave1.db")
    old = reference.EmbeddedStore(url)
    for start in range(0, len(sample_apps), 700):
        old.upsert(sample_apps[start : start + 700])
    for label in _bad_actor_labels(SAMPLE):
        old.set_label(label)
    old.record_decision(Decision(sample_apps[0].application_id, 5.0, 0.9, "high", "review", [{"code": "x"}], "m-1"))
    old.append_audit(6.0, "analyst", "label:add", "device:x", {"why": "test"})
    old.put_setting("pii_key_fingerprint", "abc")
    old.close()
    shutil.copy(tmp_path / "wave1.db", tmp_path / "wave1-copy.db")
    want = reference.EmbeddedStore(_store_file(tmp_path, "wave1-copy.db"))  # the wave-1 store reopened
    got = EmbeddedStore(url)
    db = sqlite3.connect(tmp_path / "wave1.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET actor = 'someone else'")
    db.close()
    assert_same_answers(want, got, sample_apps, size=60)
    assert got.decisions(sample_apps[0].application_id) == want.decisions(sample_apps[0].application_id)
    assert got.audit() == want.audit() and got.setting("pii_key_fingerprint") == "abc"
    got.close()
    again = EmbeddedStore(url)
    assert again.opened.how == "loaded"
    assert again.stats() == want.stats()
    again.close()


# -- one writer process ---------------------------------------------------------------------------------------
def test_a_second_process_is_refused_naming_the_holder(tmp_path: Path) -> None:
    url = _store_file(tmp_path)
    store = EmbeddedStore(url)
    probe = (
        "import sys\n"
        "from graph.store.embedded.store import EmbeddedStore\n"
        "from graph.store.embedded.lock import StoreInUse\n"
        "try:\n"
        "    EmbeddedStore(sys.argv[1]).close()\n"
        "except StoreInUse as exc:\n"
        "    print('refused:', exc)\n"
        "else:\n"
        "    print('opened')\n"
    )
    run = [sys.executable, "-c", probe, url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    refused = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, env=env, check=True).stdout.strip()
    assert refused.startswith("refused:") and f"pid {os.getpid()}" in refused and "\n" not in refused
    with pytest.raises(StoreInUse, match="this process"):
        EmbeddedStore(url)
    assert issubclass(StoreInUse, StoreUnavailable)
    store.close()
    assert subprocess.run(run, capture_output=True, text=True, cwd=ROOT, env=env, check=True).stdout.strip() == "opened"


# -- writes -------------------------------------------------------------------------------------------------
def test_a_failed_write_leaves_nothing_and_later_writes_survive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _store_file(tmp_path)
    store = EmbeddedStore(url)
    store.upsert([_app("A1", _hexkey(1), 1.0, f"device:{_hexkey(10)}")])
    before = store.stats()
    # an OverflowError after BEGIN, once the new applicant and identifiers rows are written
    too_big = _app("A2", _hexkey(2), 2.0, f"device:{_hexkey(11)}", f"phone:{_hexkey(12)}", field_edits=2**70)
    with pytest.raises(OverflowError):
        store.upsert([too_big])
    assert not store._db.in_transaction
    assert store.stats() == before and store.node_display([f"device:{_hexkey(11)}"]) == {}

    def broken(*_: Any) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(EmbeddedStore, "_insert_audit", broken)
    app3 = _app("A3", _hexkey(3), 3.0, f"device:{_hexkey(10)}")
    with pytest.raises(RuntimeError):
        store.record_assessment(
            app3, Decision("A3", 3.0, 0.1, "low", "approve", [], "m"), AuditEntry(3.0, "s", "score", "A3", {})
        )
    monkeypatch.undo()
    assert not store._db.in_transaction and store.application("A3") is None and store.decisions("A3") == []
    assert store.stats() == before
    assert store.upsert([_app("A4", _hexkey(4), 4.0, f"device:{_hexkey(11)}")]) == 1
    done = store.record_assessment(
        _app("A5", _hexkey(5), 5.0, f"phone:{_hexkey(12)}"),
        Decision("A5", 5.0, 0.2, "low", "approve", [], "m"),
        AuditEntry(5.0, "s", "score", "A5", {}),
    )
    assert done.stored
    expected = store.stats()
    snapshot = store.snapshot(too_big, 10.0, HUB_LIMIT)
    store.close()
    for how in ("loaded", "rebuilt"):
        if how == "rebuilt":
            shutil.rmtree(index_dir(str(tmp_path / "s.db")))
        again = EmbeddedStore(url)
        assert again.opened.how == how
        assert again.stats() == expected and again.application("A2") is None
        assert [d.application_id for d in again.decisions("A5")] == ["A5"] and len(again.audit("A5")) == 1
        assert again.snapshot(too_big, 10.0, HUB_LIMIT) == snapshot
        again.close()


def test_sixteen_concurrent_sends_of_one_id_store_once(tmp_path: Path) -> None:
    store = EmbeddedStore(_store_file(tmp_path))
    app = _app("SAME", _hexkey(9), 9.0, f"device:{_hexkey(90)}")
    start = threading.Barrier(16)
    results = []

    def send(n: int) -> None:
        start.wait()
        decision = Decision("SAME", 9.0 + n, 0.4, "medium", "review", [{"n": n}], "m")
        results.append(store.record_assessment(app, decision, AuditEntry(9.0, "scorer", "score", "SAME", {"n": n})))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [r for r in results if r.stored]
    assert len(results) == 16 and len(stored) == 1
    (decision,) = store.decisions("SAME")
    assert all(r.first == decision for r in results if not r.stored)
    assert len(store.audit("SAME")) == 1 and store.stats()["applications"] == 1
    store.close()


def test_conflicting_and_malformed_writes_are_refused_whole(tmp_path: Path) -> None:
    store = EmbeddedStore(_store_file(tmp_path))
    store.upsert([_app("C1", _hexkey(1), 1.0, f"device:{_hexkey(2)}")])
    before = store.stats()
    with pytest.raises(Conflict):
        store.upsert([_app("C2", _hexkey(3), 2.0), _app("C1", _hexkey(4), 3.0)])
    with pytest.raises(Conflict):
        store.upsert([_app("C3", _hexkey(3), 2.0), _app("C3", _hexkey(4), 3.0)])
    with pytest.raises(Conflict):
        store.record_assessment(
            _app("C1", _hexkey(5), 1.0),
            Decision("C1", 1.0, 0.0, "low", "approve", [], "m"),
            AuditEntry(1.0, "s", "score", "C1", {}),
        )
    with pytest.raises(InvalidInput):
        store.upsert([_app("C4", _hexkey(3), 2.0, "shoe_size:42")])
    assert store.stats() == before and store.application("C2") is None
    assert store.upsert([_app("C1", _hexkey(1), 1.0)]) == 0  # a re-send is idempotent
    store.close()


def test_memory_stores_leave_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = EmbeddedStore("memory://")
    store.upsert([_app("M1", _hexkey(1), 1.0, f"device:{_hexkey(2)}")])
    store.close()
    assert list(tmp_path.iterdir()) == []


def test_a_database_with_missing_rows_is_refused_not_misread(tmp_path: Path) -> None:
    url = _saved(tmp_path, "gap.db", [_app(f"G{i}", _hexkey(i), float(i), f"device:{_hexkey(i)}") for i in range(50)])
    db = sqlite3.connect(tmp_path / "gap.db")
    db.execute("DELETE FROM applications WHERE id = 20")
    db.commit()
    db.close()
    shutil.rmtree(index_dir(str(tmp_path / "gap.db")))
    with pytest.raises(StoreUnavailable, match="inconsistent"):
        EmbeddedStore(url)
    assert (
        subprocess.run(  # the refused open released its lock
            [
                sys.executable,
                "-c",
                "import fcntl, sys; fcntl.flock(open(sys.argv[1], 'a'), fcntl.LOCK_EX | fcntl.LOCK_NB)",
                str(tmp_path / "gap.db.lock"),
            ],
            check=False,
        ).returncode
        == 0
    )


def test_a_committed_write_the_index_failed_to_take_is_read_back_from_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EmbeddedStore(_store_file(tmp_path))
    store.upsert([_app("I1", _hexkey(1), 1.0, f"device:{_hexkey(2)}")])
    failures = []

    def fail_once(self: index_module.GraphIndex, *args: Any) -> None:
        monkeypatch.undo()
        failures.append(args)
        raise MemoryError("no room for the tail")

    monkeypatch.setattr(index_module.GraphIndex, "append", fail_once)
    assert store.upsert([_app("I2", _hexkey(3), 2.0, f"device:{_hexkey(2)}")]) == 1
    assert failures and store.application("I2") is not None
    usage = store.identifier_usage([f"device:{_hexkey(2)}"], 10.0, 100.0, 30)[f"device:{_hexkey(2)}"]
    assert usage.applicants == 2 and usage.members == (_hexkey(1), _hexkey(3))
    store.close()


def test_a_store_in_a_new_folder_is_created_with_its_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'dir' / 'x.db'}"
    with EmbeddedStore(url) as store:
        assert store.stats()["applications"] == 0
    assert (tmp_path / "new" / "dir" / "x.db").exists()


def test_a_read_only_store_reads_beside_its_owner_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: read-only tools may open the store while its one writer process runs: no
    lock taken, what the owner commits is seen, no write (and no index file) is made."""
    from graph.store.embedded import store as embedded

    monkeypatch.setattr(embedded, "READ_ONLY_CATCH_UP", 0.0)
    url = f"sqlite:///{tmp_path / 'owned.db'}"
    with pytest.raises(StoreUnavailable, match="does not exist"):
        EmbeddedStore(url, read_only=True)
    owner = EmbeddedStore(url)
    try:
        owner.upsert([_app("A1", "aa", 1.0, "device:d1")])
        owner.set_label(Label("device:d1", "confirmed_fraud", "analyst", 1.0, "listed"))
        reader = EmbeddedStore(url, read_only=True)
        try:
            assert reader.stats()["applications"] == 1 and reader.labels(["device:d1"])
            owner.upsert([_app("A2", "bb", 2.0, "device:d1")])
            owner.remove_label("device:d1")
            assert reader.stats()["applications"] == 2, "the owner's later write is seen"
            assert [a.application_id for a in reader.applicant_applications("bb")] == ["A2"]
            assert reader.labels(["device:d1"]) == {}
            with pytest.raises(StoreUnavailable):
                reader.upsert([_app("A3", "cc", 3.0, "device:d2")])
            with pytest.raises(StoreUnavailable):
                reader.append_audit(3.0, "x", "lookup", "device:d1", {})
        finally:
            reader.close()
        assert owner.stats()["applications"] == 2 and owner.audit() == []
    finally:
        owner.close()
