"""The application record: what a lender sends for one loan application.

Required fields are few: ``application_id``, ``submitted_at`` and
``applicant.national_id``. Everything else is optional because real
application flows differ in what they collect; detectors use what is there.

The same record travels as JSON (nested) and as a flat row (CSV/Parquet)
whose column names are the dotted paths, e.g. ``applicant.national_id``,
``device.fingerprint``, ``behaviour.form_fill_seconds``. :func:`from_flat`
turns a flat row into a record.

Unknown fields are ignored so that a lender's richer payload does not break
scoring; protected attributes (sex, ethnicity, religion, ...) may therefore
arrive but are never read by any detector.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from graph.errors import InvalidInput

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Geo(_Part):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


def _utc(value: datetime) -> datetime:
    # Naive times are taken as UTC: every stored time is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Applicant(_Part):
    national_id: Annotated[str, Field(min_length=4, max_length=64)]
    name: str | None = None
    date_of_birth: date | None = None
    account_created_at: datetime | None = None

    @field_validator("account_created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)


class Device(_Part):
    fingerprint: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    os: str | None = None
    ip: str | None = None
    geo: Geo | None = None


class Employer(_Part):
    name: Annotated[str, Field(min_length=1, max_length=256)]


class Address(_Part):
    line: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class BankAccount(_Part):
    number: Annotated[str, Field(min_length=4, max_length=64)]
    bank: str | None = None


class Behaviour(_Part):
    form_fill_seconds: Annotated[float, Field(ge=0)] | None = None
    field_edits: Annotated[int, Field(ge=0)] | None = None
    paste_events: Annotated[int, Field(ge=0)] | None = None
    session_seconds: Annotated[float, Field(ge=0)] | None = None


class ApplicationRecord(_Part):
    """One loan application as submitted. See the module docstring."""

    application_id: Annotated[str, Field(pattern=_ID_PATTERN)]
    submitted_at: datetime
    applicant: Applicant
    device: Device | None = None
    phone: str | None = None
    email: str | None = None
    employer: Employer | None = None
    address: Address | None = None
    bank_account: BankAccount | None = None
    amount: Annotated[float, Field(ge=0)] | None = None
    income: Annotated[float, Field(ge=0)] | None = None
    product: str | None = None
    channel: str | None = None
    behaviour: Behaviour | None = None

    @field_validator("submitted_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)

    @property
    def ts(self) -> float:
        """Submission time as epoch seconds."""
        return self.submitted_at.timestamp()


FLAT_COLUMNS: tuple[str, ...] = (
    "application_id",
    "submitted_at",
    "applicant.national_id",
    "applicant.name",
    "applicant.date_of_birth",
    "applicant.account_created_at",
    "device.fingerprint",
    "device.os",
    "device.ip",
    "device.geo.lat",
    "device.geo.lon",
    "phone",
    "email",
    "employer.name",
    "address.line",
    "address.city",
    "address.postal_code",
    "address.country",
    "bank_account.number",
    "bank_account.bank",
    "amount",
    "income",
    "product",
    "channel",
    "behaviour.form_fill_seconds",
    "behaviour.field_edits",
    "behaviour.paste_events",
    "behaviour.session_seconds",
)


_PATHS: dict[str, tuple[str, ...]] = {}


def _path(column: str) -> tuple[str, ...]:
    parts = _PATHS.get(column)
    if parts is None:
        parts = tuple(column.split("."))
        if len(_PATHS) < 4096:
            _PATHS[column] = parts
    return parts


def nest(row: dict[str, Any]) -> dict[str, Any]:
    """Turn a flat row with dotted keys into the nested JSON shape.

    Empty cells (None, NaN, blank text) are dropped, so a CSV with a blank
    ``device.fingerprint`` gives a record without a device rather than an
    empty fingerprint.
    """
    out: dict[str, Any] = {}
    for column, value in row.items():
        if type(value) is str:  # CSV cells: the common case first
            if not value or ((value[0].isspace() or value[-1].isspace()) and not value.strip()):
                continue
        elif value is None or value != value:  # value != value: NaN
            continue
        parts = _path(str(column))
        if len(parts) == 1:
            out[parts[0]] = value
            continue
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise InvalidInput(column, "column clashes with a scalar column of the same prefix")
            node = child
        node[parts[-1]] = value
    return out


def parse_record(payload: dict[str, Any]) -> ApplicationRecord:
    """Validate one nested payload; raise :class:`InvalidInput` naming the first bad field."""
    try:
        return ApplicationRecord.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(field, first["msg"]) from exc


def from_flat(row: dict[str, Any]) -> ApplicationRecord:
    """Validate one flat (CSV/Parquet) row."""
    return parse_record(nest(row))
