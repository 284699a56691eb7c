"""The bulk-load road gives what the plain road gives, row for row.

The loader prepares rows fast: it checks flat rows without nesting them
(graph.records.FlatLayout), cuts CSV files into pieces that worker processes
parse, and its normaliser has fast paths (mainland mobiles without
phonenumbers, cleanco's suffix walk by lookup, HMAC from two prepared SHA-256
states, plain values without a regex). The reference here is the road as it
was: ``from_flat`` (nest the row, validate the nested record) and the
normaliser of that time, copied below unchanged (phonenumbers for every phone,
cleanco's own ``basename``, ``hmac`` for every hash), with the loader's old
sequential read. No later speed-up can change both sides at once.

Every test compares whole outputs: each ``NormalisedApplication`` (every field,
identifier keys and displays, their order) and each reject (line, application
id, field, message), in order. ``bench/bench_prepare.py`` times the two roads.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import hmac
import io
import ipaddress
import multiprocessing
import random
import re
import signal
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from cleanco import basename
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graph.loading as loading
from fixtures.generator import generate, write_dataset
from graph.errors import InvalidInput
from graph.loading import LoadReport, count_rows, iter_rows, load_applications, normalise_rows
from graph.normalise import _CN_MOBILE, FIELD_OF_KIND, Identifier, NormalisedApplication, Normaliser, _basename
from graph.records import FLAT_COLUMNS, ApplicationRecord, from_flat

KEY = b"equivalence-key-0123456789"

# -- the reference: the normaliser as it was, unchanged ------------------------------

_MEMO_SIZE = 200_000
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
)
_SPACES = re.compile(r"\s+")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}", re.ASCII)
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def _mask_middle(text: str, keep_start: int, keep_end: int) -> str:
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    hidden = len(text) - keep_start - keep_end
    return text[:keep_start] + "*" * hidden + (text[-keep_end:] if keep_end else "")


def reference_canonical_employer(name: str) -> str:
    return _reference_employer_base(_SPACES.sub(" ", _NOT_WORD.sub(" ", name)).strip())


@lru_cache(maxsize=65536)
def _reference_employer_base(spaced: str) -> str:
    base = basename(basename(spaced))
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", base.casefold())).strip()


class ReferenceNormaliser:
    """graph.normalise.Normaliser before the bulk road, unchanged but for names."""

    def __init__(self, pii_key: bytes, default_region: str = "CN") -> None:
        if len(pii_key) < 16:
            raise ValueError("the PII hashing key must be at least 16 bytes")
        self._key = pii_key
        self._hmac = hmac.new(pii_key, digestmod=hashlib.sha256)
        self.default_region = default_region
        self._seen: dict[tuple[str, str], Identifier] = {}

    def hash(self, kind: str, canonical: str) -> str:
        digest = self._hmac.copy()
        digest.update(f"{kind}\x1f{canonical}".encode())
        return digest.hexdigest()[:24]

    def _phone(self, raw: str) -> tuple[str, str]:
        try:
            number = phonenumbers.parse(raw, self.default_region)
        except phonenumbers.NumberParseException as exc:
            raise InvalidInput("phone", f"not a phone number ({exc})") from exc
        if not phonenumbers.is_possible_number(number):
            raise InvalidInput("phone", "not a possible phone number")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        prefix = f"+{number.country_code}"
        return e164, prefix + _mask_middle(e164[len(prefix) :], 0, 4)

    @staticmethod
    def _email(raw: str) -> tuple[str, str]:
        text = raw.strip()
        if _PLAIN_EMAIL.fullmatch(text):
            canonical = text.casefold()
            local, _, domain = canonical.partition("@")
            return canonical, f"{local[:1]}***@{domain}"
        try:
            parsed = validate_email(raw, check_deliverability=False)
        except EmailNotValidError as exc:
            raise InvalidInput("email", str(exc)) from exc
        canonical = parsed.normalized.casefold()
        local, _, domain = canonical.partition("@")
        return canonical, f"{local[:1]}***@{domain}"

    @staticmethod
    def _ip(raw: str) -> tuple[str, str]:
        text = raw.strip()
        if _PLAIN_IPV4.fullmatch(text):
            return text, text.rsplit(".", 1)[0] + ".*"
        try:
            address = ipaddress.ip_address(raw.strip())
        except ValueError as exc:
            raise InvalidInput("device.ip", "not an IP address") from exc
        text = address.compressed
        if address.version == 4:
            return text, text.rsplit(".", 1)[0] + ".*"
        return text, text.rsplit(":", 2)[0] + ":*"

    @staticmethod
    def _plain(kind: str, raw: str) -> tuple[str, str]:
        canonical = _SPACES.sub(" ", raw.strip().casefold())
        if not canonical:
            raise InvalidInput(FIELD_OF_KIND[kind], "must not be empty")
        if kind == "bank_account":
            canonical = re.sub(r"[^0-9a-z]", "", canonical)
            if len(canonical) < 4:
                raise InvalidInput("bank_account.number", "too short to be an account number")
            return canonical, "****" + canonical[-4:]
        if kind == "employer":
            canonical = reference_canonical_employer(raw) or canonical
            return canonical, canonical
        if kind == "national_id":
            canonical = canonical.replace(" ", "").upper()
            # The mask rule of issue 11 (at most 4 characters, at most a third): a rule, not the road.
            return canonical, _mask_middle(canonical, 0, min(4, len(canonical) // 3))
        if kind == "address":
            return canonical, _mask_middle(canonical, 0, 0)[:6] + "…"
        return canonical, _mask_middle(canonical, 4, 0)

    def canonical(self, kind: str, raw: str) -> tuple[str, str]:
        if kind == "phone":
            return self._phone(raw)
        if kind == "email":
            return self._email(raw)
        if kind == "ip":
            return self._ip(raw)
        if kind in FIELD_OF_KIND:
            return self._plain(kind, raw)
        raise InvalidInput("kind", f"unknown identifier kind {kind!r}")

    def identifier(self, kind: str, raw: str) -> Identifier:
        memo = self._seen.get((kind, raw))
        if memo is not None:
            return memo
        canonical, display = self.canonical(kind, raw)
        ident = Identifier(kind, self.hash(kind, canonical), display)
        if len(self._seen) >= _MEMO_SIZE:
            self._seen.clear()
        self._seen[(kind, raw)] = ident
        return ident

    def application(self, record: ApplicationRecord) -> NormalisedApplication:
        applicant = self.identifier("national_id", record.applicant.national_id)
        idents: list[Identifier] = []
        device = record.device
        if device is not None and device.fingerprint:
            idents.append(self.identifier("device", device.fingerprint))
        if record.phone:
            idents.append(self.identifier("phone", record.phone))
        if record.email:
            idents.append(self.identifier("email", record.email))
        if record.employer is not None:
            idents.append(self.identifier("employer", record.employer.name))
        address = record.address
        if address is not None and address.line:
            joined = " | ".join(p or "" for p in (address.line, address.city, address.postal_code, address.country))
            idents.append(self.identifier("address", joined))
        if device is not None and device.ip:
            idents.append(self.identifier("ip", device.ip))
        if record.bank_account is not None:
            idents.append(self.identifier("bank_account", record.bank_account.number))
        behaviour = record.behaviour
        created = record.applicant.account_created_at
        return NormalisedApplication(
            application_id=record.application_id,
            ts=record.ts,
            applicant_key=applicant.key,
            applicant_display=applicant.display,
            identifiers=tuple(idents),
            account_created_ts=created.timestamp() if created is not None else None,
            amount=record.amount,
            income=record.income,
            product=record.product.casefold() if record.product else None,
            channel=record.channel.casefold() if record.channel else None,
            device_os=device.os.casefold() if device is not None and device.os else None,
            lat=device.geo.lat if device is not None and device.geo is not None else None,
            lon=device.geo.lon if device is not None and device.geo is not None else None,
            form_fill_seconds=behaviour.form_fill_seconds if behaviour else None,
            field_edits=behaviour.field_edits if behaviour else None,
            paste_events=behaviour.paste_events if behaviour else None,
            session_seconds=behaviour.session_seconds if behaviour else None,
        )


# -- the reference loader: its read, its rows, its batches ---------------------------


def reference_iter_rows(path: Path, batch_size: int) -> Any:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            return
        width = len(header)
        batch: list[dict[str, Any]] = []
        for cells in reader:
            if len(cells) != width:
                if not cells:
                    continue
                if len(cells) > width:
                    raise InvalidInput(f"line {reader.line_num}", f"has {len(cells)} fields but the header has {width}")
                cells += [""] * (width - len(cells))
            batch.append(dict(zip(header, cells, strict=True)))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def reference_normalise_rows(
    rows: list[dict[str, Any]],
    normaliser: ReferenceNormaliser,
    first_line: int,
    report: LoadReport,
    lines: list[int] | None = None,
) -> list[NormalisedApplication]:
    out: list[NormalisedApplication] = []
    for offset, row in enumerate(rows):
        try:
            out.append(normaliser.application(from_flat(row)))
            if lines is not None:
                lines.append(first_line + offset)
        except InvalidInput as exc:
            report.rejected.append(
                {
                    "line": first_line + offset,
                    "application_id": row.get("application_id"),
                    "field": exc.field,
                    "error": exc.message,
                }
            )
    return out


_reference_worker: ReferenceNormaliser | None = None


def _reference_start(normaliser: ReferenceNormaliser) -> None:
    global _reference_worker
    _reference_worker = normaliser
    gc.enable()
    gc.set_threshold(100_000, 50, 50)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _reference_batch(
    rows: list[dict[str, Any]], first_line: int
) -> tuple[list[NormalisedApplication], list[int], LoadReport]:
    assert _reference_worker is not None
    report = LoadReport()
    lines: list[int] = []
    return reference_normalise_rows(rows, _reference_worker, first_line, report, lines), lines, report


def reference_load(
    store: Any, normaliser: ReferenceNormaliser, source: Path, batch_size: int = 5000, workers: int = 1
) -> LoadReport:
    """The loader as it was (its ``_load``, with the reference preparation)."""
    report = LoadReport()

    def store_batch(apps: list[NormalisedApplication], lines: list[int], n_rows: int) -> None:
        refused = len(report.rejected)
        stored = loading._store_or_reject(store, apps, lines, report)
        report.rows += n_rows
        report.stored += stored
        report.duplicates += len(apps) - stored - (len(report.rejected) - refused)

    if workers <= 1:
        line = 2
        for rows in reference_iter_rows(source, batch_size):
            lines: list[int] = []
            store_batch(reference_normalise_rows(rows, normaliser, line, report, lines), lines, len(rows))
            line += len(rows)
        return report
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(workers, context, initializer=_reference_start, initargs=(normaliser,))
    try:
        pending = []
        line = 2
        for rows in reference_iter_rows(source, batch_size):
            pending.append((pool.submit(_reference_batch, rows, line), len(rows)))
            line += len(rows)
            while len(pending) > workers * 2:
                future, n_rows = pending.pop(0)
                apps, app_lines, part = future.result()
                report.rejected.extend(part.rejected)
                store_batch(apps, app_lines, n_rows)
        for future, n_rows in pending:
            apps, app_lines, part = future.result()
            report.rejected.extend(part.rejected)
            store_batch(apps, app_lines, n_rows)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return report


class Recorder:
    """A sink that keeps what it is given, in order (the loader's store seam)."""

    def __init__(self) -> None:
        self.apps: list[NormalisedApplication] = []
        self.batches: list[int] = []

    def upsert(self, applications: list[NormalisedApplication]) -> int:
        self.apps.extend(applications)
        self.batches.append(len(applications))
        return len(applications)


# -- rows to compare ------------------------------------------------------------------

# Cells that are odd but plausible, and plainly bad ones, by column: each replaces
# a generated cell in some rows.
_ODD: dict[str, list[Any]] = {
    "application_id": ["", "  ", " APP-x ", "APP x", "-APP", "A" * 129, "APP:1.2_3-4", "\tAPP-9\t", "ÄPP-1"],
    "submitted_at": [
        "",
        "not-a-time",
        "2026-11-20",
        "2026-11-20 10:31",
        "2026-11-20T10:31:00",
        "2026-11-20T10:31:00.123456+08:00",
        "2026-11-20T10:31:00.1234567Z",
        "2026-02-30T10:00:00Z",
        "0001-01-01T00:00:00Z",
        "1700000000",
        " 2026-11-20T10:31:00Z ",
        "2026-11-20T25:00:00Z",
    ],
    "applicant.national_id": ["", "  ", "123", "1234", " 11 01 01 ", "x" * 65, "abcd efgh", "\u3000110101\u3000"],
    "applicant.date_of_birth": ["1990-02-30", "1990/01/01", "19900101", "yesterday", " 1990-01-01 "],
    "applicant.account_created_at": ["soon", "2026-01-01T00:00:00", "2026-01-01T00:00:00-05:00", "1e9"],
    "device.fingerprint": ["", " ", "DFP  Mixed\tCase", "x" * 257, "\x1c", "dfp-\u00a0nbsp"],
    "device.os": ["", "iOS", "  Android  ", "HARMONYOS"],
    "device.ip": ["", "300.1.1.1", "01.2.3.4", "::1", "2001:DB8::1", " 10.0.0.1 ", "10.0.0", "1.2.3.4.5", "x"],
    "device.geo.lat": ["", "91", "-90", "abc", "nan", " 45.5 ", "1e1"],
    "device.geo.lon": ["", "181", "-180", "0x10", "inf"],
    "phone": [
        "",
        "not a phone",
        "12",
        "+86 179 4000 1674",
        "17940001674",
        "179-4000-1674",
        "179 4000 1674",
        "0086 138 0013 8000",
        "(+86) 138 0013 8000",
        "+86-138-0013-8000",
        "+1 650 253 0000",
        "+44 20 7946 0958",
        "010 6552 9988",
        "12345678901",
        "+86 138 0013 800",
        "１３８００１３８０００",
        " 13800138000 ",
        "138 0013-8000",
        "+8613800138000 ext 12",
    ],
    "email": [
        "",
        "no-at-sign",
        "A.B@Example.COM",
        "ü@例え.jp",
        "x@y",
        "a..b@example.com",
        " spaced@example.com ",
        'quoted"@example.com',
        "a@b.c",
    ],
    "employer.name": [
        "",
        "  ",
        "Co., Ltd.",
        "Example Trading Co., Ltd.",
        "EXAMPLE TRADING CO LTD",
        "Société Générale S.A.",
        "Ölwerke GmbH & Co. KG",
        "Müller und Söhne GmbH",
        "İstanbul Holding A.Ş.",
        "株式会社 Example",
        "ACME, Inc.!!",
        "Daddy & Sons, Ltd.",
        "x" * 257,
        "Ltd",
        "The Co Co Ltd Ltd",
    ],
    "address.line": ["", "  Room 1,  Building 2 ", "ROOM\t9", "x"],
    "address.city": ["", "Shang  Hai"],
    "address.postal_code": ["", " 200000 "],
    "bank_account.number": ["", "12", "1234", "6222 0261 1274 8038 020", "IBAN DE89-3704", "    ", "١٢٣٤٥"],
    "amount": ["", "-1", "0", "1e3", "12,000", "nan", "inf", " 500 "],
    "income": ["", "-0", "abc"],
    "product": ["", "CASH_LOAN", " Instalment "],
    "channel": ["", "WEB", "Ａｐｐ"],
    "behaviour.form_fill_seconds": ["", "-1", "0.5", "x"],
    "behaviour.field_edits": ["", "1.5", "-1", "3.0", "1e2", " 4 "],
    "behaviour.paste_events": ["", "2", "two"],
    "behaviour.session_seconds": ["", "1e309"],
}


def _as_text(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Rows as a CSV file holds them (missing values, None or NaN, as empty cells)."""
    return [{k: "" if v is None or v != v else str(v) for k, v in row.items()} for row in rows]


def _population(n: int, seed: int) -> list[dict[str, Any]]:
    """Generated applications as CSV cells (text), with some cells made odd or bad."""
    rows = _as_text(generate(n, seed=seed).applications)
    rng = random.Random(seed)
    for row in rows:
        for _ in range(rng.choice((0, 0, 0, 0, 0, 0, 1, 1, 2))):
            column = rng.choice(list(_ODD))
            if column in row:
                row[column] = rng.choice(_ODD[column])
    return rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]], newline: str = "\n") -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)


def _reference_rows(rows: list[dict[str, Any]]) -> tuple[list[NormalisedApplication], list[dict[str, Any]]]:
    report = LoadReport()
    return reference_normalise_rows(rows, ReferenceNormaliser(KEY), 2, report), report.rejected


def _loaded(path: Path, workers: int, batch_size: int = 500, **kwargs: Any) -> tuple[Recorder, LoadReport]:
    sink = Recorder()
    report = load_applications(sink, Normaliser(KEY), path, batch_size=batch_size, workers=workers, **kwargs)
    return sink, report


def _reference_loaded(path: Path, batch_size: int = 500) -> tuple[Recorder, LoadReport]:
    sink = Recorder()
    return sink, reference_load(sink, ReferenceNormaliser(KEY), path, batch_size)


@pytest.fixture(scope="module")
def population() -> list[dict[str, Any]]:
    return _population(3000, seed=41)


# -- rows -----------------------------------------------------------------------------


def test_rows_prepare_as_the_nested_road_does(population: list[dict[str, Any]]) -> None:
    expected, expected_rejects = _reference_rows(population)
    report = LoadReport()
    got = normalise_rows(population, Normaliser(KEY), 2, report)
    assert len(expected_rejects) > 150 and len(expected) > 2000  # the odd cells do bite
    assert report.rejected == expected_rejects
    assert got == expected


def test_typed_cells_prepare_alike() -> None:
    """Rows as the generator makes them (numbers as numbers, None, NaN): Parquet's rows."""
    rows: list[dict[str, Any]] = generate(600, seed=8).applications
    rows[3]["amount"] = float("nan")
    rows[4]["device.geo.lat"] = None
    rows[5]["behaviour.field_edits"] = 2.5
    rows[6]["phone"] = 13800138000
    rows[7]["submitted_at"] = 1_700_000_000
    expected, expected_rejects = _reference_rows(rows)
    report = LoadReport()
    assert normalise_rows(rows, Normaliser(KEY), 2, report) == expected
    assert report.rejected == expected_rejects


@pytest.mark.parametrize(
    "extra",
    [
        {"pattern": "ring"},  # a column the record does not know
        {"device.geo.alt": "12"},  # an unknown field inside a part makes the part present
        {"device.vendor": "x", "device.fingerprint": ""},
        {"employer.id": "E-1", "employer.name": ""},  # an employer without a name
        {"bank_account.bank": "ICBC"},  # a bank without a number
        {"bank_account.bank": "ICBC", "bank_account.number": ""},
        {"phone.kind": "mobile"},  # a column under a scalar
        {"device": "x"},  # a scalar where a part belongs
        {"applicant.name": "Li", "applicant.national_id": ""},
        {"applicant.sex": "F"},
    ],
)
def test_columns_beyond_the_record_are_handled_as_nesting_would(extra: dict[str, str]) -> None:
    rows = _as_text(generate(200, seed=3).applications)
    for i, row in enumerate(rows):
        row.update({k: (v if i % 3 else "") for k, v in extra.items()})
    expected, expected_rejects = _reference_rows(rows)
    report = LoadReport()
    assert normalise_rows(rows, Normaliser(KEY), 2, report) == expected
    assert report.rejected == expected_rejects


_CELL = st.one_of(
    st.just(""),
    st.sampled_from([" ", "\t", "\x1c", "\u00a0", "\u3000"]),
    st.text(max_size=12),
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?", fullmatch=True),
    st.from_regex(
        r"20[0-9]{2}-[01][0-9]-[0-3][0-9](T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](Z|[+-][01][0-9]:[0-5][0-9])?)?",
        fullmatch=True,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FLAT_COLUMNS), _CELL), st.booleans())
def test_any_flat_row_prepares_as_the_nested_road_does(cells: dict[str, str], whole: bool) -> None:
    base = {"application_id": "APP-1", "submitted_at": "2026-11-20T10:31:00Z", "applicant.national_id": "110101"}
    row = {**base, **cells} if whole else cells
    expected, expected_rejects = _reference_rows([row])
    report = LoadReport()
    assert normalise_rows([row], Normaliser(KEY), 2, report) == expected
    assert report.rejected == expected_rejects


# -- files ----------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_a_csv_file_loads_as_the_old_loader_loaded_it(
    tmp_path: Path, population: list[dict[str, Any]], workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = list(population[0])
    cells = [[row[c] for c in header] for row in population]
    cells[10][header.index("address.line")] = 'Room 1, "Quoted" Building\nsecond line'  # a quoted newline
    cells[11][2] = ""
    path = tmp_path / "applications.csv"
    _write_csv(path, header, cells)
    monkeypatch.setattr(loading, "_PIECE_BYTES", 40_000)  # many pieces, cut mid-batch
    expected, expected_report = _reference_loaded(path)
    got, report = _loaded(path, workers)
    assert report.rejected == expected_report.rejected
    assert got.apps == expected.apps and got.batches == expected.batches
    assert (report.rows, report.stored, report.duplicates) == (
        expected_report.rows,
        expected_report.stored,
        expected_report.duplicates,
    )
    with path.open("rb") as fh:
        assert count_rows(path) == sum(1 for _ in fh) - 1


_HEADER = ["application_id", "submitted_at", "applicant.national_id", "phone", "address.line"]


def _shape_rows(n: int) -> list[list[str]]:
    return [
        [f"APP-{i}", "2026-11-20T10:00:00Z", f"1101011990{i:08d}", f"138{i:08d}", f"Room {i} Lane {i % 7}"]
        for i in range(n)
    ]


def _file(tmp_path: Path, text: str, name: str = "applications.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _body(rows: list[list[str]], newline: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows([_HEADER, *rows])
    return out.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        _body(_shape_rows(900)),
        _body(_shape_rows(900), "\r\n"),
        "\ufeff" + _body(_shape_rows(300)),  # a byte-order mark
        _body(_shape_rows(300)).rstrip("\n"),  # no newline at the end
        _body(_shape_rows(300)).replace("\n", "\n\n", 50),  # blank lines
        _body(_shape_rows(300)) + "APP-x,2026-11-20T10:00:00Z\n" + _body(_shape_rows(5)).split("\n", 1)[1],  # short
        _body(_shape_rows(300)).replace("Room 7 ", 'Room 7" screen ', 1),  # a stray quote: quotes do not pair
        _body(_shape_rows(300)).replace("Room 9 ", '"Room 9 ', 1),  # a quote never closed
        _body(_shape_rows(300)).replace("Room 5 ", '"Room 5"x ', 1),  # text after a closing quote
        _body(_shape_rows(300)).replace("\n", "\r", 3),  # lone carriage returns
        _body(_shape_rows(300)).replace("Room 3 Lane 3", '"Room\n3\r\nLane, 3"', 1),  # line ends in quotes
        '"application_id\n",submitted_at\n' + "APP-1,2026-11-20T10:00:00Z\n" * 40,  # a newline in the header
        "\n" + _body(_shape_rows(20)),  # a blank first line: no header
        "",
        _body([]),
    ],
)
@pytest.mark.parametrize("workers", [1, 2])
def test_file_shapes_read_as_the_old_loader_read_them(
    tmp_path: Path, text: str, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path, text)
    monkeypatch.setattr(loading, "_PIECE_BYTES", 2_000)
    expected, expected_report = _reference_loaded(path, batch_size=64)
    got, report = _loaded(path, workers, batch_size=64)
    assert report.rejected == expected_report.rejected
    assert got.apps == expected.apps and got.batches == expected.batches
    assert report.rows == expected_report.rows
    old = [r for b in reference_iter_rows(path, 64) for r in b]
    assert [r for b in iter_rows(path, 64) for r in b] == old
    with path.open("rb") as fh:
        assert count_rows(path) == max(0, sum(1 for _ in fh) - 1)


@pytest.mark.parametrize("at", [1, 63, 64, 65, 200])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_row_longer_than_the_header_is_rejected_and_the_load_goes_on(
    tmp_path: Path, at: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old loader stopped at such a row (issue 11: loads never stop for a bad row). The
    reference is the old road on the same file with that row's id blanked, which it rejects
    at the same line: everything else must load as it did."""
    rows = _shape_rows(300)
    blanked = [list(r) for r in rows]
    blanked[at - 1][0] = ""
    rows[at - 1] = [*rows[at - 1], "one too many"]
    quoted = ("Room 3 Lane 3", '"Room\n3 Lane 3"')
    path = _file(tmp_path, _body(rows).replace(*quoted, 1))
    reference = _file(tmp_path, _body(blanked).replace(*quoted, 1), "reference.csv")
    monkeypatch.setattr(loading, "_PIECE_BYTES", 1_500)
    expected = Recorder()
    expected_report = reference_load(expected, ReferenceNormaliser(KEY), reference, batch_size=64)
    got = Recorder()
    report = load_applications(got, Normaliser(KEY), path, batch_size=64, workers=workers)
    long_row = {
        "line": at + 1,
        "application_id": rows[at - 1][0],
        "field": "row",
        "error": "has 6 fields but the header has 5",
    }
    assert report.rejected == [long_row if r["line"] == at + 1 else r for r in expected_report.rejected]
    assert got.apps == expected.apps and got.batches == expected.batches


def test_parquet_loads_as_rows_do(tmp_path: Path) -> None:
    data = generate(700, seed=12)
    write_dataset(data, tmp_path, "parquet")
    expected, expected_rejects = _reference_rows(data.applications)
    for workers in (1, 2):
        got, report = _loaded(tmp_path / "applications.parquet", workers)
        assert report.rejected == expected_rejects and got.apps == expected


# -- the normaliser's fast paths ------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.from_regex(_CN_MOBILE, fullmatch=True))
def test_mobile_fast_path_agrees_with_phonenumbers(text: str) -> None:
    reference = ReferenceNormaliser(KEY)
    assert Normaliser(KEY)._phone(text) == reference._phone(text)


def test_every_mobile_prefix_agrees_with_phonenumbers() -> None:
    """All 1xx prefixes in every spelling the fast path takes, and 179's that it leaves."""
    fast, reference = Normaliser(KEY), ReferenceNormaliser(KEY)
    rng = random.Random(5)
    for prefix in range(130, 200):
        digits = f"{prefix}{rng.randrange(10**8):08d}"
        a, b, c = digits[:3], digits[3:7], digits[7:]
        for lead in ("", "+86", "+86 ", "0086", "0086 "):
            for sep in ("", " ", "-"):
                spelling = f"{lead}{a}{sep}{b}{sep}{c}"
                try:
                    expected: object = reference._phone(spelling)
                except InvalidInput as exc:
                    expected = (exc.field, exc.message)
                try:
                    got: object = fast._phone(spelling)
                except InvalidInput as exc:
                    got = (exc.field, exc.message)
                assert got == expected, spelling


def test_other_regions_take_the_parser() -> None:
    for spelling in ("13800138000", "+86 138 0013 8000", "650 253 0000"):
        assert Normaliser(KEY, "US")._phone(spelling) == ReferenceNormaliser(KEY, "US")._phone(spelling)


_NAME_WORDS = st.sampled_from(
    [
        "Co",
        "co.",
        "CO",
        "Ltd",
        "ltd.",
        "Limited",
        "Company",
        "Inc",
        "Inc.",
        "GmbH",
        "&",
        "KG",
        "S.A.",
        "SA",
        "AG",
        "LLC",
        "plc",
        "Corp",
        "Corporation",
        "S",
        "de",
        "RL",
        "s.r.l.",
        "Pty",
        "BV",
        "N.V.",
        "Oy",
        "AB",
        "A/S",
        "Group",
        "Holding",
        "Trading",
        "Example",
        "Société",
        "Générale",
        "Müller",
        "İstanbul",
        "Ş",
        "株式会社",
        "-",
        ",",
        ".",
        "!",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_NAME_WORDS, st.text(min_size=1, max_size=6)), max_size=7), st.sampled_from([" ", "", ", "]))
def test_suffix_lookup_agrees_with_cleanco(words: list[str], glue: str) -> None:
    name = glue.join(words)
    assert _basename(name) == basename(name)
    assert _basename(_basename(name)) == basename(basename(name))


def test_employer_names_of_a_population_agree_with_cleanco(population: list[dict[str, Any]]) -> None:
    from graph.normalise import canonical_employer

    names = {row["employer.name"] for row in population} | {n for n in _ODD["employer.name"]}
    for name in names:
        assert canonical_employer(name) == reference_canonical_employer(name), name


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=16, max_size=200), st.sampled_from([*FIELD_OF_KIND, "other"]), st.text(max_size=40))
def test_keyed_hash_is_hmac_sha256(key: bytes, kind: str, canonical: str) -> None:
    assert Normaliser(key).hash(kind, canonical) == ReferenceNormaliser(key).hash(kind, canonical)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([k for k in FIELD_OF_KIND if k not in ("phone",)]), st.text(max_size=30))
def test_every_kind_canonicalises_as_before(kind: str, raw: str) -> None:
    def outcome(normaliser: Normaliser | ReferenceNormaliser) -> object:
        try:
            return normaliser.canonical(kind, raw), normaliser.identifier(kind, raw)
        except InvalidInput as exc:
            return exc.field, exc.message

    assert outcome(Normaliser(KEY)) == outcome(ReferenceNormaliser(KEY))
