"""The input rules through the real HTTP app (issue 11): every bad application is a 422
problem naming each failing field (all of them, record rules and identifier checks
together), never a 500 and never a write; a good one at the edge of a rule is accepted.

The table is the bad-input list of the issue, one case a row: the change made to the
documented example and the fields the answer must name, exactly.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.http.routes.scoring import EXAMPLE
from graph.records import MAX_AMOUNT, MAX_COUNT, MAX_SECONDS, InputRules, configure_input_rules
from tests.api.conftest import ADMIN, INVESTIGATOR, SCORER, Server

JSON = {"content-type": "application/json"}
NOW = datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def changed(**changes: Any) -> dict[str, Any]:
    """The example with ``changes`` by dotted path (``applicant__date_of_birth`` for
    applicant.date_of_birth); a value of ``...`` removes the field."""
    body = copy.deepcopy(EXAMPLE)
    body["submitted_at"] = _iso(NOW - timedelta(hours=1))
    body["applicant"]["account_created_at"] = _iso(NOW - timedelta(days=30))
    for path, value in changes.items():
        *parents, name = path.split("__")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        if value is ...:
            node.pop(name, None)
        else:
            node[name] = value
    return body


def raw(text: str) -> bytes:
    """A body that JSON libraries would not write (Infinity, NaN, huge integers)."""
    return text.encode()


GOOD = json.dumps(changed())
LONG = "x" * 100_000  # well under the 1 MB body limit: the field's own limit refuses it

BAD: list[tuple[str, dict[str, Any] | bytes, set[str]]] = [
    # times: the ends of the calendar were 500s (OverflowError); numbers are not times
    ("year-1-with-offset", changed(submitted_at="0001-01-01T00:00:00+01:00"), {"submitted_at"}),
    ("year-9999-with-offset", changed(submitted_at="9999-12-31T23:59:59-01:00"), {"submitted_at"}),
    ("integer-time", changed(submitted_at=12345), {"submitted_at"}),
    ("numeric-text-time", changed(submitted_at="1700000000"), {"submitted_at"}),
    ("boolean-time", changed(submitted_at=True), {"submitted_at"}),
    ("in-2030", changed(submitted_at="2030-01-01T00:00:00Z"), {"submitted_at"}),
    ("an-hour-ahead", changed(submitted_at=_iso(NOW + timedelta(hours=1))), {"submitted_at"}),
    ("in-1900", changed(submitted_at="1900-01-01T00:00:00Z"), {"submitted_at"}),
    ("before-1900", changed(submitted_at="1899-12-31T23:59:59Z"), {"submitted_at"}),
    ("account-after-application", changed(applicant__account_created_at=_iso(NOW)), {"applicant.account_created_at"}),
    (
        "account-at-year-1",
        changed(applicant__account_created_at="0001-01-01T00:00:00+01:00"),
        {"applicant.account_created_at"},
    ),
    (
        "account-in-2030",
        changed(applicant__account_created_at="2030-01-01T00:00:00Z"),
        {"applicant.account_created_at"},
    ),
    ("born-in-2040", changed(applicant__date_of_birth="2040-01-01"), {"applicant.date_of_birth"}),
    (
        "born-tomorrow",
        changed(applicant__date_of_birth=str((NOW + timedelta(days=2)).date())),
        {"applicant.date_of_birth"},
    ),
    ("born-in-1850", changed(applicant__date_of_birth="1850-06-01"), {"applicant.date_of_birth"}),
    ("integer-birth-date", changed(applicant__date_of_birth=19900307), {"applicant.date_of_birth"}),
    # numbers: finite, within bounds, and numbers
    ("amount-1e308", changed(amount=1e308), {"amount"}),
    ("amount-infinity", raw(GOOD.replace('"amount": 5000', '"amount": Infinity')), {"amount"}),
    ("amount-nan", raw(GOOD.replace('"amount": 5000', '"amount": NaN')), {"amount"}),
    ("amount-zero", changed(amount=0), {"amount"}),
    ("amount-negative", changed(amount=-1), {"amount"}),
    ("amount-over-the-cap", changed(amount=MAX_AMOUNT * 1.01), {"amount"}),
    ("amount-as-text", changed(amount="5000"), {"amount"}),
    ("amount-as-boolean", changed(amount=True), {"amount"}),
    ("income-1e308", changed(income=1e308), {"income"}),
    ("edits-2-to-the-63", raw(GOOD.replace('"field_edits": 2', f'"field_edits": {2**63}')), {"behaviour.field_edits"}),
    ("pastes-2-to-the-64", changed(behaviour__paste_events=2**64), {"behaviour.paste_events"}),
    ("edits-over-the-bound", changed(behaviour__field_edits=MAX_COUNT + 1), {"behaviour.field_edits"}),
    ("edits-fractional", changed(behaviour__field_edits=2.5), {"behaviour.field_edits"}),
    ("edits-as-text", changed(behaviour__field_edits="2"), {"behaviour.field_edits"}),
    ("edits-as-boolean", changed(behaviour__field_edits=False), {"behaviour.field_edits"}),
    ("fill-seconds-1e308", changed(behaviour__form_fill_seconds=1e308), {"behaviour.form_fill_seconds"}),
    ("session-over-the-bound", changed(behaviour__session_seconds=MAX_SECONDS + 1), {"behaviour.session_seconds"}),
    ("latitude-91", changed(device__geo={"lat": 91, "lon": 0}), {"device.geo.lat"}),
    ("longitude-as-text", changed(device__geo={"lat": 1, "lon": "2"}), {"device.geo.lon"}),
    # every string has a maximum length
    ("long-product", changed(product=LONG), {"product"}),
    ("long-channel", changed(channel=LONG), {"channel"}),
    ("long-name", changed(applicant__name=LONG), {"applicant.name"}),
    ("long-national-id", changed(applicant__national_id="1" * 65), {"applicant.national_id"}),
    (
        "long-address",
        changed(address={"line": LONG, "city": LONG, "postal_code": LONG, "country": LONG}),
        {
            "address.line",
            "address.city",
            "address.postal_code",
            "address.country",
        },
    ),
    ("long-bank", changed(bank_account={"number": "62220261", "bank": LONG}), {"bank_account.bank"}),
    ("long-device", changed(device={"fingerprint": LONG, "os": LONG}), {"device.fingerprint", "device.os"}),
    ("long-phone", changed(phone="1" * 65), {"phone"}),
    ("long-email", changed(email="a" * 320 + "@example.com"), {"email"}),
    ("long-employer", changed(employer__name=LONG), {"employer.name"}),
    # identifiers are more than control or invisible characters, and must parse
    (
        "national-id-of-direction-marks",
        changed(applicant__national_id="\u200f\u202e\u200f\u202e\u200e"),
        {"applicant.national_id"},
    ),
    (
        "national-id-of-zero-widths",
        changed(applicant__national_id="\u200b\u200c\u200d\u2060\ufeff"),
        {"applicant.national_id"},
    ),
    (
        "national-id-of-three-visible",
        changed(applicant__national_id="\u200b1\u200b2\u200b3\u200b"),
        {"applicant.national_id"},
    ),
    ("fingerprint-of-zero-widths", changed(device={"fingerprint": "\u200b\u200b"}), {"device.fingerprint"}),
    ("employer-of-controls", changed(employer__name="\x1c\x1d"), {"employer.name"}),
    ("address-of-marks", changed(address={"line": "\u202e\u200f"}), {"address.line"}),
    ("not-a-phone", changed(phone="not a phone"), {"phone"}),
    ("not-an-email", changed(email="no-at-sign"), {"email"}),
    ("not-an-ip", changed(device__ip="300.1.1.1"), {"device.ip"}),
    ("account-number-of-three", changed(bank_account={"number": "12-3-"}), {"bank_account.number"}),
    # strict types elsewhere
    ("numeric-application-id", changed(application_id=123), {"application_id"}),
    ("numeric-national-id", changed(applicant__national_id=110101199003077777), {"applicant.national_id"}),
    ("applicant-as-text", changed(applicant="Li Wei"), {"applicant"}),
    (
        "missing-required",
        changed(application_id=..., submitted_at=..., applicant=...),
        {
            "application_id",
            "submitted_at",
            "applicant",
        },
    ),
    # every failing field at once: record rules and identifier checks together
    (
        "many-at-once",
        changed(
            submitted_at="9999-12-31T23:59:59-01:00",
            amount="5000",
            phone="12",
            email="no-at-sign",
            applicant__national_id="\u200b\u200b\u200b\u200b",
            applicant__date_of_birth="2040-01-01",
            behaviour__field_edits=2**63,
            device={"fingerprint": "dfp-1", "ip": "not an ip"},
            product=LONG,
        ),
        {
            "submitted_at",
            "amount",
            "phone",
            "email",
            "applicant.national_id",
            "applicant.date_of_birth",
            "behaviour.field_edits",
            "device.ip",
            "product",
        },
    ),
    (
        "account-after-and-a-bad-phone",
        changed(applicant__account_created_at=_iso(NOW), phone="12"),
        {
            "applicant.account_created_at",
            "phone",
        },
    ),
    # malformed JSON is the body's fault, not a field at a byte offset
    ("truncated-json", raw('{"application_id": "APP-1", "submitted_at": '), {"body"}),
    ("not-an-object", raw("[1, 2, 3]"), {"body"}),
]


@pytest.fixture(autouse=True)
def default_rules() -> Iterator[None]:
    """Each app configures the rules of its settings; leave the defaults behind."""
    yield
    configure_input_rules(InputRules())


def _post(client: TestClient | httpx.Client, path: str, body: dict[str, Any] | bytes) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, content=content, headers={**SCORER, **JSON})


def _named(r: httpx.Response) -> set[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    named = [e["field"] for e in problem["errors"]]
    assert problem["field"] == named[0] and problem["detail"].startswith(named[0])
    assert len(named) == len(set(named)), named  # one entry a field
    return set(named)


@pytest.mark.parametrize(("body", "fields"), [(b, f) for _, b, f in BAD], ids=[name for name, _, _ in BAD])
@pytest.mark.parametrize("path", ["/v1/applications", "/v1/score"])
def test_a_bad_application_is_a_422_naming_every_failing_field(
    client: TestClient, path: str, body: dict[str, Any] | bytes, fields: set[str]
) -> None:
    assert _named(_post(client, path, body)) == fields
    assert client.get("/v1/stats", headers=ADMIN).json()["counts"]["applications"] == 0  # nothing written


def test_the_table_starts_from_a_good_application(client: TestClient) -> None:
    r = _post(client, "/v1/applications", raw(GOOD))
    assert r.status_code == 200, r.text
    assert client.get("/v1/stats", headers=ADMIN).json()["counts"]["applications"] == 1


@pytest.mark.parametrize(
    "body",
    [
        changed(amount=MAX_AMOUNT, income=0),
        changed(amount=0.01),
        changed(behaviour={"form_fill_seconds": MAX_SECONDS, "field_edits": MAX_COUNT, "paste_events": 0}),
        changed(applicant__account_created_at=_iso(NOW - timedelta(hours=1))),  # the same instant as submitted_at
        changed(submitted_at=_iso(NOW + timedelta(seconds=60))),  # clock skew within the allowance
        changed(submitted_at=_iso(NOW - timedelta(days=365 * 15)), applicant__account_created_at=...),
        changed(submitted_at=(NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")),  # naive: UTC
        changed(applicant__date_of_birth="1900-01-01"),
        changed(applicant__national_id=" 1101 0119 9003 0777 77 "),
        changed(employer__name="株式会社 Example"),
        changed(phone="", email=""),  # empty optional identifiers are absent ones
        changed(bank_account={"number": "6222 0261 1274"}),
    ],
    ids=[
        "amount-at-the-cap",
        "small-amount",
        "behaviour-at-the-bounds",
        "account-opened-at-the-application",
        "a-minute-of-skew",
        "fifteen-years-ago",
        "naive-time",
        "born-1900",
        "spaced-national-id",
        "non-ascii-employer",
        "empty-identifiers",
        "spaced-account",
    ],
)
def test_an_application_at_the_edge_of_a_rule_is_accepted(client: TestClient, body: dict[str, Any]) -> None:
    r = _post(client, "/v1/score", body)
    assert r.status_code == 200, r.text


def test_the_time_window_is_configured(make_client: Callable[..., TestClient]) -> None:
    now = datetime.now(UTC)  # not the module's NOW: a long run would put "30 s ahead" in the past
    week_old = changed(submitted_at=_iso(now - timedelta(days=7)), applicant__account_created_at=...)
    strict = make_client(max_past_days=3, max_future_seconds=0)
    assert _named(_post(strict, "/v1/score", week_old)) == {"submitted_at"}
    ahead = changed(submitted_at=_iso(now + timedelta(seconds=30)), applicant__account_created_at=...)
    r = _post(strict, "/v1/score", ahead)
    assert _named(r) == {"submitted_at"} and "in the future" in r.json()["errors"][0]["message"]
    lenient = make_client(max_past_days=30, max_future_seconds=120)
    assert _post(lenient, "/v1/score", week_old).status_code == 200
    assert _post(lenient, "/v1/score", ahead).status_code == 200


def test_the_messages_say_what_is_wrong(client: TestClient) -> None:
    body = changed(
        submitted_at="0001-01-01T00:00:00+01:00",
        amount=1e308,
        applicant__national_id="\u200f\u200f\u200f\u200f",
        phone="12",
    )
    messages = {e["field"]: e["message"] for e in _post(client, "/v1/score", body).json()["errors"]}
    assert messages["submitted_at"] == "must not be before 1900-01-01"
    assert "less than or equal to 10000000000" in messages["amount"]
    assert "visible character" in messages["applicant.national_id"]
    assert "phone number" in messages["phone"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [("/v1/alerts?status=banana", "status"), ("/v1/labels?status=zzz", "status"), ("/v1/alerts?limit=1e9", "limit")],
)
def test_an_unknown_filter_value_is_refused(client: TestClient, path: str, parameter: str) -> None:
    r = client.get(path, headers=INVESTIGATOR)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [parameter]


# The cases that were 500s on a real server (OverflowError, integers past 64 bits), over HTTP.
SERVED = [case for case in BAD if case[0] in {"year-1-with-offset", "year-9999-with-offset", "edits-2-to-the-63"}]


@pytest.mark.parametrize(("body", "fields"), [(b, f) for _, b, f in SERVED], ids=[name for name, _, _ in SERVED])
def test_a_real_server_answers_422_where_it_answered_500(
    live_server: Server, body: dict[str, Any] | bytes, fields: set[str]
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert _named(_post(http, "/v1/applications", body)) == fields
        assert http.get(f"/v1/applications/{EXAMPLE['application_id']}", headers=INVESTIGATOR).status_code == 404
