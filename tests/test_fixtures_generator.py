"""The synthetic population generator: determinism, shape and planted patterns."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fixtures.generator import (
    APPLICATION_COLUMNS,
    BAD_ACTOR_KINDS,
    BENIGN_PATTERNS,
    FRAUD_PATTERNS,
    PATTERNS,
    TRUTH_COLUMNS,
    Dataset,
    generate,
    write_dataset,
)

Row = dict[str, Any]
Key = Callable[[Any], str]
ROOT = Path(__file__).resolve().parents[1]
N = 20_000
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
FIELD_OF_KIND = {
    "national_id": "applicant.national_id",
    "device": "device.fingerprint",
    "phone": "phone",
    "email": "email",
    "bank_account": "bank_account.number",
    "ip": "device.ip",
}


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return generate(N, seed=1)


@pytest.fixture(scope="module")
def rows(ds: Dataset) -> list[Row]:
    """Applications joined with their truth row."""
    truth = {t["application_id"]: t for t in ds.truth}
    return [{**a, **truth[a["application_id"]]} for a in ds.applications]


def phone_key(raw: Any) -> str:
    digits = re.sub(r"\D", "", str(raw))
    return digits[-11:]


def users_by(rows: list[Row], column: str, key: Key = str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        value = r[column]
        if value != "":
            out[key(value)].add(str(r["applicant.national_id"]))
    return out


def find(parent: dict[str, str], x: str) -> str:
    """Union-find root of ``x``."""
    while parent.setdefault(x, x) != x:
        x = parent[x]
    return x


def sha_of_dir(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


# -- determinism -------------------------------------------------------------
def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    write_dataset(generate(3_000, seed=11), tmp_path / "a")
    write_dataset(generate(3_000, seed=11), tmp_path / "b")
    assert sha_of_dir(tmp_path / "a") == sha_of_dir(tmp_path / "b")


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    write_dataset(generate(3_000, seed=11), tmp_path / "a")
    write_dataset(generate(3_000, seed=12), tmp_path / "b")
    a, b = sha_of_dir(tmp_path / "a"), sha_of_dir(tmp_path / "b")
    assert a["applications.csv"] != b["applications.csv"]
    assert a["truth.csv"] != b["truth.csv"]


def test_output_does_not_depend_on_hash_randomisation(tmp_path: Path) -> None:
    script = (
        "import sys, hashlib; from pathlib import Path;"
        "from fixtures.generator import generate, write_dataset;"
        "out = Path(sys.argv[1]); write_dataset(generate(2000, seed=5), out);"
        "print(''.join(hashlib.sha256((out / n).read_bytes()).hexdigest()"
        " for n in ('applications.csv', 'truth.csv', 'bad_actors.csv')))"
    )
    digests = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = tmp_path / f"h{hash_seed}"
        done = subprocess.run(
            [sys.executable, "-c", script, str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.append(done.stdout.strip())
    assert digests[0] == digests[1]


# -- shape ---------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 57, 999, 5_000])
def test_exactly_n_applications(n: int) -> None:
    data = generate(n, seed=3)
    assert len(data.applications) == n
    assert len(data.truth) == n


def test_columns_and_ids(ds: Dataset) -> None:
    assert all(list(a) == list(APPLICATION_COLUMNS) for a in ds.applications)
    assert all(list(t) == list(TRUTH_COLUMNS) for t in ds.truth)
    ids = [a["application_id"] for a in ds.applications]
    assert len(set(ids)) == len(ids) == N
    assert [t["application_id"] for t in ds.truth] == ids
    for a, t in zip(ds.applications, ds.truth, strict=True):
        assert t["applicant_id"] == a["applicant.national_id"]
        assert t["is_fraud"] in (0, 1)
        assert t["is_fraud"] == (1 if t["pattern"] in FRAUD_PATTERNS else 0)
        assert t["pattern"] in PATTERNS


def test_national_ids_are_valid_and_one_person_each(ds: Dataset) -> None:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    person: dict[str, tuple[object, object]] = {}
    for a in ds.applications:
        nid = str(a["applicant.national_id"])
        assert re.fullmatch(r"\d{17}[\dX]", nid)
        check = "10X98765432"[sum(int(d) * w for d, w in zip(nid[:17], weights, strict=True)) % 11]
        assert nid[17] == check
        dob = str(a["applicant.date_of_birth"])
        assert nid[6:14] == dob.replace("-", "")
        ident = (a["applicant.name"], dob)
        assert person.setdefault(nid, ident) == ident  # one national id = one person


def test_values_are_well_formed(ds: Dataset) -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    end = start + timedelta(days=181)
    for a in ds.applications:
        assert ISO_Z.match(str(a["submitted_at"]))
        assert ISO_Z.match(str(a["applicant.account_created_at"]))
        submitted = datetime.fromisoformat(str(a["submitted_at"]).replace("Z", "+00:00"))
        created = datetime.fromisoformat(str(a["applicant.account_created_at"]).replace("Z", "+00:00"))
        assert start <= submitted < end
        assert created <= submitted
        assert re.fullmatch(r"dfp-[0-9a-f]{12}", str(a["device.fingerprint"]))
        assert a["product"] in ("cash_loan", "instalment", "credit_line")
        assert a["channel"] in ("app", "web", "store")
        assert isinstance(a["amount"], int) and 500 <= a["amount"] <= 50_000
        assert isinstance(a["income"], int) and a["income"] > 0
        assert len(phone_key(a["phone"])) == 11 and phone_key(a["phone"])[0] == "1"
        assert re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", str(a["device.ip"]))
        email = str(a["email"])
        assert email == "" or re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]+", email)
        lat, lon = a["device.geo.lat"], a["device.geo.lon"]
        assert isinstance(lat, float) and isinstance(lon, float)
        assert (lat != lat and lon != lon) or (18 < lat < 54 and 73 < lon < 135)
        fill = a["behaviour.form_fill_seconds"]
        assert isinstance(fill, int) and fill >= 2
        assert isinstance(a["behaviour.session_seconds"], int)
        assert a["behaviour.session_seconds"] >= fill


def test_naive_start_is_utc() -> None:
    data = generate(50, seed=2, start=datetime(2030, 1, 1))
    assert all(str(a["submitted_at"]).startswith("2030-") for a in data.applications)


# -- planted patterns ----------------------------------------------------------
def test_fraud_share(ds: Dataset) -> None:
    share = sum(t["is_fraud"] == 1 for t in ds.truth) / N
    assert 0.02 <= share <= 0.08
    small = generate(5_000, seed=7)
    assert 0.02 <= sum(t["is_fraud"] == 1 for t in small.truth) / 5_000 <= 0.08


def test_every_pattern_present(ds: Dataset) -> None:
    counts = ds.pattern_counts()
    assert set(counts) == set(PATTERNS)
    missing = [p for p in PATTERNS if counts[p] == 0]
    assert not missing
    assert set(BENIGN_PATTERNS) | set(FRAUD_PATTERNS) == set(PATTERNS)


def test_every_ring_has_three_members(rows: list[Row]) -> None:
    members: dict[str, set[object]] = defaultdict(set)
    for r in rows:
        if r["ring_id"]:
            assert re.fullmatch(r"R-\d{6}", str(r["ring_id"]))
            assert r["is_fraud"] == 1
            members[str(r["ring_id"])].add(r["applicant.national_id"])
    assert len(members) >= 20
    assert min(len(m) for m in members.values()) >= 3


def test_ring_members_share_identifiers(rows: list[Row]) -> None:
    """Each ring is one connected component over shared device/phone/email/bank/address."""
    by_ring: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r["ring_id"]:
            by_ring[str(r["ring_id"])].append(r)
    links: tuple[tuple[str, Key], ...] = (
        ("device.fingerprint", str),
        ("phone", phone_key),
        ("email", lambda v: str(v).lower()),
        ("bank_account.number", lambda v: str(v).replace(" ", "")),
        ("address.line", str),
    )
    for ring, members in by_ring.items():
        parent: dict[str, str] = {}
        for r in members:
            person = "p:" + str(r["applicant.national_id"])
            for col, key in links:
                if r[col] != "":
                    parent[find(parent, person)] = find(parent, f"{col}:{key(r[col])}")
        roots = {find(parent, "p:" + str(r["applicant.national_id"])) for r in members}
        assert len(roots) == 1, ring


def test_honest_singles_do_not_share_personal_identifiers(rows: list[Row]) -> None:
    honest = {"legit", "big_employer", "reapplication"}
    checks: tuple[tuple[str, Key], ...] = (
        ("device.fingerprint", str),
        ("phone", phone_key),
        ("email", lambda v: str(v).lower()),
        ("bank_account.number", lambda v: str(v).replace(" ", "")),
    )
    for column, key in checks:
        users = users_by(rows, column, key)
        for r in rows:
            if r["pattern"] in honest and r[column] != "":
                assert len(users[key(r[column])]) == 1, (column, r[column])


def test_kiosk_devices_serve_many_unrelated_applicants(rows: list[Row]) -> None:
    kiosk_users: dict[str, set[object]] = defaultdict(set)
    for r in rows:
        if r["pattern"] == "kiosk":
            assert r["channel"] == "store"
            kiosk_users[str(r["device.fingerprint"])].add(r["applicant.national_id"])
    assert kiosk_users
    assert min(len(u) for u in kiosk_users.values()) >= 50


def test_household_phones_have_two_to_four_applicants(rows: list[Row]) -> None:
    users = users_by(rows, "phone", phone_key)
    household_phones = {phone_key(r["phone"]) for r in rows if r["pattern"] == "household"}
    sizes = [len(users[p]) for p in household_phones]
    assert all(1 <= s <= 4 for s in sizes)
    shared = [p for p in household_phones if len(users[p]) >= 2]
    assert len(shared) >= 20
    by_phone_pattern: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if phone_key(r["phone"]) in shared:
            by_phone_pattern[phone_key(r["phone"])].add(r["pattern"])
    assert all(p == {"household"} for p in by_phone_pattern.values())


def test_bad_actor_values_appear_in_applications(ds: Dataset, rows: list[Row]) -> None:
    assert ds.bad_actors
    kinds = {str(b["kind"]) for b in ds.bad_actors}
    assert kinds == set(BAD_ACTOR_KINDS)
    seen = {col: {str(a[col]) for a in ds.applications} for col in FIELD_OF_KIND.values()}
    for b in ds.bad_actors:
        assert b["value"] != ""
        assert str(b["value"]) in seen[FIELD_OF_KIND[str(b["kind"])]], b
    fraudster_ids = {str(r["applicant.national_id"]) for r in rows if r["pattern"] == "known_fraudster"}
    flagged_ids = {str(b["value"]) for b in ds.bad_actors if b["kind"] == "national_id"}
    assert flagged_ids == fraudster_ids


def test_bad_actor_links_reach_a_flagged_applicant_or_identifier(ds: Dataset, rows: list[Row]) -> None:
    flagged_people = {str(b["value"]) for b in ds.bad_actors if b["kind"] == "national_id"}
    flagged_values = {
        (FIELD_OF_KIND[str(b["kind"])], str(b["value"])) for b in ds.bad_actors if b["kind"] != "national_id"
    }
    keys: dict[str, Key] = {
        "device.fingerprint": str,
        "phone": phone_key,
        "email": lambda v: str(v).lower(),
        "bank_account.number": lambda v: str(v).replace(" ", ""),
    }
    users = {col: users_by(rows, col, key) for col, key in keys.items()}
    flagged_norm = {(c, keys[c](v)) for c, v in flagged_values if c in keys}

    def neighbours(person: str) -> set[str]:
        out: set[str] = set()
        for r in by_person[person]:
            for col, key in keys.items():
                if r[col] != "":
                    out |= users[col][key(r[col])]
        return out - {person}

    by_person: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_person[str(r["applicant.national_id"])].append(r)
    linkers = {str(r["applicant.national_id"]) for r in rows if r["pattern"] == "bad_actor_link"}
    assert linkers
    for person in linkers:
        near = {person} | neighbours(person)
        near2: set[str] = set(near)
        for p in near:
            near2 |= neighbours(p)
        uses_flagged = any(
            (col, key(r[col])) in flagged_norm
            for p in near
            for r in by_person[p]
            for col, key in keys.items()
            if r[col] != ""
        )
        assert uses_flagged or near2 & flagged_people, person


def test_phone_spellings_vary_for_the_same_number(rows: list[Row]) -> None:
    spellings: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        spellings[phone_key(r["phone"])].add(str(r["phone"]))
    varied = [s for s in spellings.values() if len(s) > 1]
    assert len(varied) >= 100
    all_forms: set[str] = set()
    for forms in spellings.values():
        all_forms |= forms
    assert any(s.startswith("+86 ") and s.count(" ") == 3 for s in all_forms)
    assert any(re.fullmatch(r"1\d{10}", s) for s in all_forms)
    assert any(re.fullmatch(r"\+861\d{10}", s) for s in all_forms)
    assert any(re.fullmatch(r"1\d{2}-\d{4}-\d{4}", s) for s in all_forms)


def test_email_and_employer_spellings_vary(rows: list[Row]) -> None:
    emails: dict[str, set[str]] = defaultdict(set)
    employers: dict[str, set[str]] = defaultdict(set)
    suffix = re.compile(r"\b(co|ltd|company|limited)\b")
    for r in rows:
        if r["email"]:
            emails[str(r["email"]).lower()].add(str(r["email"]))
        if r["employer.name"]:
            core = re.sub(r"[^a-z ]", " ", str(r["employer.name"]).lower())
            employers[" ".join(suffix.sub(" ", core).split())].add(str(r["employer.name"]))
    assert any(len(v) > 1 for v in emails.values())
    assert max(len(v) for v in employers.values()) >= 4


def test_big_employers_are_big(rows: list[Row]) -> None:
    big = [r for r in rows if r["pattern"] == "big_employer"]
    assert big and all(r["is_fraud"] == 0 for r in big)
    suffix = re.compile(r"\b(co|ltd|company|limited)\b")
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        core = re.sub(r"[^a-z ]", " ", str(r["employer.name"]).lower())
        counts[" ".join(suffix.sub(" ", core).split())] += 1
    assert max(counts.values()) >= 300  # thousands at 1M applications


def test_behaviour_patterns(rows: list[Row]) -> None:
    bots = [r for r in rows if r["pattern"] == "bot"]
    assert all(2 <= int(r["behaviour.form_fill_seconds"]) <= 8 for r in bots)
    assert all(r["behaviour.field_edits"] == 0 for r in bots)
    for r in bots:
        submitted = datetime.fromisoformat(str(r["submitted_at"]).replace("Z", "+00:00"))
        created = datetime.fromisoformat(str(r["applicant.account_created_at"]).replace("Z", "+00:00"))
        assert submitted - created <= timedelta(minutes=31)
    # bust-out: many applications from one applicant within hours, rising amounts
    bust: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r["pattern"] == "bust_out":
            bust[str(r["device.fingerprint"])].append(r)
    assert bust
    for apps in bust.values():
        assert len(apps) >= 5
        times = sorted(str(a["submitted_at"]) for a in apps)
        first = datetime.fromisoformat(times[0].replace("Z", "+00:00"))
        last = datetime.fromisoformat(times[-1].replace("Z", "+00:00"))
        assert last - first <= timedelta(hours=13)
        amounts = [a["amount"] for a in sorted(apps, key=lambda a: str(a["submitted_at"]))]
        assert amounts[-1] >= amounts[0]
    # honest people re-apply weeks apart with the same national id
    reapp: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["pattern"] == "reapplication":
            reapp[str(r["applicant.national_id"])].append(str(r["submitted_at"]))
    assert reapp and all(2 <= len(v) <= 3 for v in reapp.values())


# -- files -----------------------------------------------------------------------
def test_write_csv_and_parquet(tmp_path: Path) -> None:
    data = generate(1_000, seed=4)
    paths = write_dataset(data, tmp_path / "csv")
    assert {p.name for p in (tmp_path / "csv").iterdir()} == {
        "applications.csv",
        "truth.csv",
        "bad_actors.csv",
    }
    with paths["applications"].open(newline="") as fh:
        header = next(csv.reader(fh))
    assert header == list(APPLICATION_COLUMNS)
    with paths["truth"].open(newline="") as fh:
        assert next(csv.reader(fh)) == list(TRUTH_COLUMNS)
    with paths["bad_actors"].open(newline="") as fh:
        assert next(csv.reader(fh)) == ["kind", "value"]
    back = pd.read_csv(paths["applications"], dtype=str, keep_default_na=False)
    assert back["phone"].tolist() == [a["phone"] for a in data.applications]
    assert back["bank_account.number"].tolist() == [a["bank_account.number"] for a in data.applications]

    ppaths = write_dataset(data, tmp_path / "pq", fmt="parquet")
    assert ppaths["applications"].name == "applications.parquet"
    frame = pd.read_parquet(ppaths["applications"])
    assert list(frame.columns) == list(APPLICATION_COLUMNS)
    assert frame["application_id"].tolist() == [a["application_id"] for a in data.applications]
    with pytest.raises(ValueError):
        write_dataset(data, tmp_path / "x", fmt="xml")


def test_checked_in_sample_matches_generator(tmp_path: Path) -> None:
    sample = ROOT / "fixtures" / "sample"
    if not (sample / "applications.csv").exists():
        pytest.skip("no checked-in sample")
    write_dataset(generate(5_000, seed=7), tmp_path)
    for name in ("applications.csv", "truth.csv", "bad_actors.csv"):
        assert (sample / name).read_bytes() == (tmp_path / name).read_bytes(), name
    total = sum((sample / n).stat().st_size for n in ("applications.csv", "truth.csv"))
    assert total < 2_200_000


def test_fifty_thousand_is_fast() -> None:
    began = time.perf_counter()
    data = generate(50_000, seed=1)
    assert len(data.applications) == 50_000
    assert time.perf_counter() - began < 20  # ~1 s on a 2-core machine; guards against blow-ups


# -- the package split and drift ---------------------------------------------------

# sha256 over applications.csv + bad_actors.csv + truth.csv (sorted by name) of
# generate(3_000, seed), written by fixtures/generator.py before it became a package
# (commit e2306f2); the split must not change a byte.
PRE_SPLIT_SHA256 = {
    3: "bd10ffa70d594e57d6196d9821a20ee0aca827e9f053c59097b8c7e0ab17de79",
    11: "38182299e1b81a3f36009de9cd2dbde46b1ced18868638768d4ae500bc9a5487",
    99: "814ab9fa91352aba272c64ad51fbeb66e6add1f9e5c1f79859d956c5f52e0a4b",
}


@pytest.mark.parametrize("seed", sorted(PRE_SPLIT_SHA256))
def test_output_is_byte_identical_to_the_single_module_generator(tmp_path: Path, seed: int) -> None:
    paths = write_dataset(generate(3_000, seed), tmp_path)
    digest = hashlib.sha256()
    for _, path in sorted(paths.items()):
        digest.update(path.read_bytes())
    assert digest.hexdigest() == PRE_SPLIT_SHA256[seed]


def test_generator_columns_are_record_columns() -> None:
    from graph.records import FLAT_COLUMNS

    assert set(APPLICATION_COLUMNS) <= set(FLAT_COLUMNS)
    assert set(FLAT_COLUMNS) - set(APPLICATION_COLUMNS) == {"bank_account.bank"}


@pytest.fixture(scope="module")
def drifting() -> Dataset:
    return generate(N, seed=5, drift_at=0.5)


def test_drift_changes_the_fraud_patterns_at_the_drift_point(drifting: Dataset) -> None:
    from fixtures.generator import DEFAULT_START, DRIFT_PATTERNS, SPAN_DAYS

    cut = DEFAULT_START + timedelta(days=SPAN_DAYS * 0.5)
    at = {a["application_id"]: _parse(str(a["submitted_at"])) for a in drifting.applications}
    before: dict[str, int] = defaultdict(int)
    after: dict[str, int] = defaultdict(int)
    for t in drifting.truth:
        side = before if at[t["application_id"]] < cut else after
        side[str(t["pattern"])] += 1
    assert set(DRIFT_PATTERNS) <= set(after) and not set(DRIFT_PATTERNS) & set(before)
    shipped_after = sum(after[p] for p in FRAUD_PATTERNS)
    assert shipped_after == 0
    fraud_before = sum(before[p] for p in FRAUD_PATTERNS)
    fraud_after = sum(after[p] for p in DRIFT_PATTERNS)
    assert 0.7 < fraud_after / fraud_before < 1.4  # about as much fraud in each half
    for p in BENIGN_PATTERNS:
        if p != "big_employer":
            assert before[p] > 0 and after[p] > 0
    assert all(
        t["is_fraud"] == (1 if t["pattern"] in (*FRAUD_PATTERNS, *DRIFT_PATTERNS) else 0) for t in drifting.truth
    )


def test_mule_rings_share_bank_accounts_and_addresses_not_devices(drifting: Dataset) -> None:
    truth = {t["application_id"]: t for t in drifting.truth}
    rings: dict[str, list[Row]] = defaultdict(list)
    for a in drifting.applications:
        t = truth[a["application_id"]]
        if t["pattern"] == "mule_ring":
            rings[str(t["ring_id"])].append(a)
    assert len(rings) >= 10
    for members in rings.values():
        assert len({m["applicant.national_id"] for m in members}) >= 3
        assert len({m["bank_account.number"].replace(" ", "") for m in members}) <= 2
        assert len({m["address.line"] for m in members}) <= 2
        assert len({m["device.fingerprint"] for m in members}) == len(members)
        times = sorted(_parse(str(m["submitted_at"])) for m in members)
        assert times[-1] - times[0] > timedelta(days=3)  # slow, unlike the shipped rings


def test_drift_is_deterministic_and_absent_without_the_option(tmp_path: Path) -> None:
    from fixtures.generator import DRIFT_PATTERNS

    a = write_dataset(generate(3_000, 8, drift_at=0.6), tmp_path / "a")
    b = write_dataset(generate(3_000, 8, drift_at=0.6), tmp_path / "b")
    assert all(a[k].read_bytes() == b[k].read_bytes() for k in a)
    assert not {t["pattern"] for t in generate(3_000, 8).truth} & set(DRIFT_PATTERNS)
    with pytest.raises(ValueError):
        generate(100, 1, drift_at=0.1)
    with pytest.raises(ValueError):
        generate(100, 1, drift_at=0.5, drift="nonsense")


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))
