"""Normalisation: one real-world identifier, one node; raw PII never leaves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.http.routes.scoring import EXAMPLE
from graph.errors import InvalidInput
from graph.normalise import Normaliser, canonical_employer
from graph.records import from_flat, parse_record

N = Normaliser(b"unit-test-key-0123456789", "CN")


@pytest.mark.parametrize(
    "spelling", ["+86 138 0013 8000", "13800138000", "+8613800138000", "138-0013-8000", "(+86) 138 0013 8000"]
)
def test_phone_spellings_share_one_node(spelling: str) -> None:
    assert N.identifier("phone", spelling).node_id == N.identifier("phone", "+86 138 0013 8000").node_id


def test_email_case_and_employer_suffixes_collapse() -> None:
    assert N.identifier("email", "Li.Wei@Example.COM") == N.identifier("email", "li.wei@example.com")
    assert canonical_employer("Example Trading Co., Ltd.") == canonical_employer("EXAMPLE TRADING CO LTD")
    assert canonical_employer("Example Trading Co.,Ltd.") == canonical_employer("Example Trading Co., Ltd.")
    assert canonical_employer("Example Trading Co., Ltd.") == "example trading"
    assert canonical_employer("Example Trading Co., Ltd.") != canonical_employer("Example Logistics Co., Ltd.")


def test_distinct_values_stay_distinct() -> None:
    assert N.identifier("phone", "13800138000") != N.identifier("phone", "13800138001")
    assert N.identifier("device", "dfp-1").key != N.identifier("employer", "dfp-1").key


def test_keyed_hash_depends_on_the_key_and_hides_the_value() -> None:
    other = Normaliser(b"another-key-0123456789", "CN")
    ident = N.identifier("phone", "13800138000")
    assert ident.key != other.identifier("phone", "13800138000").key
    assert "13800138000" not in ident.key and "0013" not in ident.display
    assert ident.display.endswith("8000")


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("phone", "not a phone", "phone"),
        ("email", "no-at-sign", "email"),
        ("ip", "300.1.1.1", "device.ip"),
        ("bank_account", "12", "bank_account.number"),
    ],
)
def test_bad_identifiers_name_their_field(kind: str, value: str, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        N.identifier(kind, value)
    assert err.value.field == field


def test_flat_row_round_trip_drops_protected_attributes() -> None:
    row = {
        "application_id": "APP-1",
        "submitted_at": "2026-11-20T10:31:00+08:00",
        "applicant.national_id": "110101199003077777",
        "applicant.name": "Li Wei",
        "applicant.date_of_birth": "1990-03-07",
        "phone": "13800138000",
        "device.fingerprint": "",
        "behaviour.form_fill_seconds": "41",
    }
    app = N.application(from_flat(row))
    assert app.ts == datetime(2026, 11, 20, 2, 31, tzinfo=UTC).timestamp()
    assert [i.kind for i in app.identifiers] == ["phone"]
    stored = repr(app)
    assert "Li Wei" not in stored and "1990" not in stored and "110101199003077777" not in stored


def test_missing_required_field_is_named() -> None:
    with pytest.raises(InvalidInput) as err:
        from_flat({"application_id": "APP-1", "submitted_at": "2026-11-20T10:31:00Z"})
    assert err.value.field == "applicant"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86 ", "+86", "0086 "]))
def test_any_mainland_mobile_spelling_is_one_node(digits: str, prefix: str) -> None:
    spaced = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    assert N.identifier("phone", prefix + spaced).key == N.identifier("phone", digits).key


@given(st.emails())
def test_email_case_never_splits_a_node(address: str) -> None:
    try:
        lower = N.identifier("email", address.lower())
    except InvalidInput:
        return
    assert (
        N.identifier("email", address.upper() if address.isascii() else address).key == lower.key
        or not address.isascii()
    )


@given(st.emails())
def test_plain_email_fast_path_agrees_with_email_validator(address: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    from graph.normalise import _PLAIN_EMAIL

    if not _PLAIN_EMAIL.fullmatch(address):
        return
    try:
        expected = validate_email(address, check_deliverability=False).normalized.casefold()
    except EmailNotValidError:
        pytest.fail(f"fast path accepts {address!r}, which email-validator rejects")
    assert N.canonical("email", address)[0] == expected


@given(
    st.one_of(
        st.ip_addresses(v=4).map(str),
        st.lists(st.integers(0, 999).map(str), min_size=4, max_size=4).map(".".join),
        st.lists(st.sampled_from(["0", "00", "01", "255", "256", "7", "10"]), min_size=3, max_size=5).map(".".join),
    )
)
def test_plain_ipv4_fast_path_agrees_with_ipaddress(text: str) -> None:
    import ipaddress

    from graph.normalise import _PLAIN_IPV4

    try:
        expected = ipaddress.ip_address(text).compressed
    except ValueError:
        assert not _PLAIN_IPV4.fullmatch(text), f"fast path accepts {text!r}, which ipaddress rejects"
        return
    assert _PLAIN_IPV4.fullmatch(text), f"{text!r} is canonical IPv4 but misses the fast path"
    assert N.canonical("ip", text)[0] == expected


def test_normalised_applications_pickle_by_value() -> None:
    import pickle

    app = N.application(parse_record(EXAMPLE))
    copy = pickle.loads(pickle.dumps(app))
    assert copy == app and copy.identifiers == app.identifiers and copy.extra == app.extra


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("110101199003077777", "**************7777"),
        ("A1234567890", "********890"),  # 11 characters: a third, never the 67-80% of old
        ("12345678", "******78"),
        ("ABC", "**C"),
        ("AB", "**"),
    ],
)
def test_a_national_id_shows_at_most_four_characters_and_a_third(raw: str, shown: str) -> None:
    display = Normaliser(b"test-key-0123456789").identifier("national_id", raw).display
    assert display == shown
    assert len(display.replace("*", "")) <= min(4, len(raw) // 3)
