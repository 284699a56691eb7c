"""The application record's input rules, as a model: JSON strict and flat files lax, every
failing field named, the flat check of bulk loads agreeing with the nested model on every
rule, the identifier checks agreeing with the normaliser, and no time that overflows."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.http.routes.scoring import EXAMPLE
from api.settings import Settings
from graph.errors import InvalidInput
from graph.normalise import Normaliser
from graph.records import (
    ApplicationRecord,
    InputRules,
    InvalidRecord,
    configure_input_rules,
    flat_layout,
    from_flat,
    input_rules,
    parse_json,
    parse_record,
)

N = Normaliser(b"unit-test-key-0123456789", "CN")
NOW = datetime.now(UTC)
BASE = {
    "application_id": "APP-1",
    "submitted_at": (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "applicant.national_id": "110101199003077777",
}


@pytest.fixture(autouse=True)
def default_rules() -> Iterator[None]:
    configure_input_rules(InputRules())
    yield
    configure_input_rules(InputRules())


def _example(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["submitted_at"] = BASE["submitted_at"]
    body["applicant"]["account_created_at"] = (NOW - timedelta(days=3)).isoformat()
    body.update(changes)
    return body


# -- strict JSON, lax flat files -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", "5000"), ("amount", True), ("income", False), ("submitted_at", 1_795_000_000)],
)
def test_json_is_strict(field: str, value: object) -> None:
    with pytest.raises(InvalidRecord) as err:
        parse_json(json.dumps(_example(**{field: value})))
    assert err.value.field == field


def test_flat_text_cells_are_read_as_numbers() -> None:
    record = from_flat({**BASE, "amount": " 5000 ", "behaviour.field_edits": "3"})
    assert record.amount == 5000.0 and record.behaviour is not None and record.behaviour.field_edits == 3


def test_a_number_is_not_a_time_in_a_flat_file_either() -> None:
    with pytest.raises(InvalidRecord) as err:
        from_flat({**BASE, "submitted_at": "1795000000"})
    assert err.value.field == "submitted_at" and "ISO 8601" in err.value.message


def test_every_failing_field_is_named() -> None:
    with pytest.raises(InvalidRecord) as err:
        parse_record(_example(amount=-1, phone="12", email="no-at-sign", submitted_at="2030-01-01T00:00:00Z"))
    assert [field for field, _ in err.value.errors] == ["submitted_at", "phone", "email", "amount"]
    assert err.value.field == "submitted_at"
    assert "also failing: phone: " in err.value.message and "amount: " in err.value.message


def test_malformed_json_is_the_body() -> None:
    with pytest.raises(InvalidRecord) as err:
        parse_json(b'{"application_id": ')
    assert [field for field, _ in err.value.errors] == ["body"]


# -- times --------------------------------------------------------------------------------

_OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.one_of(st.none(), _OFFSETS)))
def test_no_time_overflows(when: datetime) -> None:
    """Any time at all is accepted or refused on its field: the ends of the calendar with
    an offset (year 1 at +01:00, 9999 at -01:00) raised OverflowError, a 500."""
    text = when.isoformat()
    for check in (
        lambda: parse_json(json.dumps(_example(submitted_at=text))),
        lambda: from_flat({**BASE, "submitted_at": text}),
        lambda: from_flat({**BASE, "applicant.account_created_at": text}),
    ):
        try:
            check()
        except InvalidRecord as exc:
            assert exc.field in ("submitted_at", "applicant.account_created_at"), exc
    layout = flat_layout([*BASE, "applicant.account_created_at"])
    layout.values({**BASE, "submitted_at": text})
    layout.values({**BASE, "applicant.account_created_at": text})


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("0001-01-01T00:00:00+01:00", False),
        ("9999-12-31T23:59:59-01:00", False),
        ("1899-12-31T23:59:59Z", False),
        ("1900-01-01T00:00:00+01:00", False),  # 1899 in UTC
        ("1900-01-01T00:00:00Z", True),
        ("2030-01-01T00:00:00Z", False),
    ],
)
def test_times_are_1900_or_later_and_not_in_the_future(text: str, accepted: bool) -> None:
    configure_input_rules(InputRules(max_past_days=365_250))
    try:
        from_flat({**BASE, "submitted_at": text})
    except InvalidRecord as exc:
        assert not accepted and exc.field == "submitted_at"
    else:
        assert accepted


def test_the_window_follows_the_configured_rules() -> None:
    now = datetime.now(UTC)  # not the module's NOW: a long run would put "600 s ahead" in the past
    old = (now - timedelta(days=10)).isoformat()
    ahead = (now + timedelta(seconds=600)).isoformat()
    assert from_flat({**BASE, "submitted_at": old}).submitted_at.tzinfo is UTC
    with pytest.raises(InvalidRecord, match="in the future"):
        from_flat({**BASE, "submitted_at": ahead})  # the default allows 300 s of clock skew
    configure_input_rules(InputRules(max_past_days=5, max_future_seconds=900))
    assert input_rules().max_past_days == 5
    with pytest.raises(InvalidRecord, match="more than 5 days in the past"):
        from_flat({**BASE, "submitted_at": old})
    from_flat({**BASE, "submitted_at": ahead})


def test_settings_name_the_rules() -> None:
    rules = Settings(graph_url="memory://", max_past_days=30, max_future_seconds=5, phone_region="US").input_rules()
    assert rules == InputRules(30, 5, "US")
    assert Settings(graph_url="memory://").input_rules() == InputRules()
    with pytest.raises(ValueError):
        InputRules(max_past_days=0)


def test_phones_are_read_in_the_configured_region() -> None:
    short = {**BASE, "phone": "12345"}  # a possible number in CN (phonenumbers), not in the US
    assert from_flat(short).phone == "12345"
    configure_input_rules(InputRules(phone_region="US"))
    with pytest.raises(InvalidRecord) as err:
        from_flat(short)
    assert err.value.field == "phone"
    assert from_flat({**BASE, "phone": "+86 138 0013 8000"}).phone == "+86 138 0013 8000"


def test_an_account_opened_after_its_application_is_refused() -> None:
    at = BASE["submitted_at"]
    later = (NOW - timedelta(minutes=59)).isoformat()
    assert from_flat({**BASE, "applicant.account_created_at": at}).applicant.account_created_at is not None
    with pytest.raises(InvalidRecord) as err:
        from_flat({**BASE, "applicant.account_created_at": later})
    assert err.value.field == "applicant.account_created_at"


# -- the flat check agrees with the nested model ------------------------------------------

_RULE_CELLS: list[dict[str, str]] = [
    {"applicant.account_created_at": (NOW - timedelta(minutes=30)).isoformat()},  # after the application
    {"applicant.account_created_at": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")},  # naive, before
    {"applicant.account_created_at": (NOW - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S+08:00")},  # before
    {"submitted_at": "0001-01-01T00:00:00+01:00"},
    {"submitted_at": "2030-01-01T00:00:00Z"},
    {"submitted_at": "12345"},
    {"applicant.date_of_birth": "2040-01-01"},
    {"applicant.date_of_birth": "1899-12-31"},
    {"applicant.date_of_birth": "1990-03-07"},
    {"amount": "0"},
    {"amount": "1e308"},
    {"amount": "inf"},
    {"amount": "nan"},
    {"income": "1e11"},
    {"behaviour.field_edits": str(2**63)},
    {"behaviour.session_seconds": "1e7"},
    {"product": "x" * 65},
    {"applicant.name": "x" * 257},
    {"address.line": "\u200b\u200b", "address.city": "x"},
    {"address.postal_code": "1" * 33, "address.line": "Room 1"},
    {"applicant.national_id": "\u200f\u200f\u200f\u200f"},
    {"device.fingerprint": "\u200b"},
    {"phone": "12"},
    {"email": "a@b"},
    {"device.ip": "999.1.1.1"},
    {"bank_account.number": "12-3-"},
    {"bank_account.number": "\u212a123"},  # the Kelvin sign folds to an ASCII k
]


@pytest.mark.parametrize("cells", _RULE_CELLS)
def test_the_flat_check_refuses_what_the_nested_model_refuses(cells: dict[str, str]) -> None:
    row = {**BASE, **cells}
    try:
        nested: ApplicationRecord | None = from_flat(row)
    except InvalidInput:
        nested = None
    values = flat_layout(row).values(row)
    assert (values is None) == (nested is None), (values, nested)
    if nested is not None:
        assert values is not None
        assert N.flat_application(values) == N.application(nested)


# -- identifiers: the record refuses what the normaliser cannot key ------------------------

_KIND_OF_FIELD = {"phone": "phone", "email": "email", "device.ip": "ip", "bank_account.number": "bank_account"}
_IDENTIFIER_TEXT = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\+?[0-9 ()\-]{3,18}", fullmatch=True),
    st.from_regex(r"[a-zA-Z0-9.]{1,8}@[a-z]{1,6}\.[a-z]{2,3}", fullmatch=True),
    st.ip_addresses().map(str),
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(_KIND_OF_FIELD)), _IDENTIFIER_TEXT)
def test_an_identifier_the_record_accepts_is_one_the_normaliser_keys(field: str, text: str) -> None:
    row = {**BASE, field: text}
    try:
        record = from_flat(row)
    except InvalidRecord as exc:
        assert {f for f, _ in exc.errors} == {field}, exc.errors
        if text.strip() and len(text.strip()) >= 4:  # refused by the record's own rule, not only its length
            with pytest.raises(InvalidInput):
                N.identifier(_KIND_OF_FIELD[field], text.strip())
        return
    N.application(record)  # raises InvalidInput if the normaliser could not key it


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp")), min_size=4, max_size=12))
def test_an_identifier_of_invisible_characters_is_refused(text: str) -> None:
    for column in ("applicant.national_id", "device.fingerprint", "employer.name", "address.line"):
        row = {**BASE, column: text}
        if not text.strip():
            continue  # blank: an absent cell (national_id: a missing one)
        with pytest.raises(InvalidRecord) as err:
            from_flat(row)
        assert err.value.field == column


# -- the schema says the bounds -------------------------------------------------------------


def _strings(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if schema.get("type") == "string" and "format" not in schema:
        yield path, schema
    for key in ("anyOf", "allOf", "oneOf"):
        for option in schema.get(key, []):
            yield from _strings(option, path)
    for name, prop in schema.get("properties", {}).items():
        yield from _strings(prop, f"{path}.{name}" if path else name)


def test_every_string_of_the_record_has_a_maximum_length() -> None:
    schema = ApplicationRecord.model_json_schema()
    defs = schema.pop("$defs")
    found = list(_strings(schema)) + [pair for d in defs.values() for pair in _strings(d)]
    assert len(found) >= 17  # every text field of the record
    assert all("maxLength" in s or "pattern" in s for _, s in found), [p for p, s in found if "maxLength" not in s]
