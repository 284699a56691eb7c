"""The application record: what a lender sends for one loan application.

Required fields are few: ``application_id``, ``submitted_at`` and
``applicant.national_id``. Everything else is optional because real
application flows differ in what they collect; detectors use what is there.

The same record travels as JSON (nested) and as a flat row (CSV/Parquet)
whose column names are the dotted paths, e.g. ``applicant.national_id``,
``device.fingerprint``, ``behaviour.form_fill_seconds``. :func:`from_flat`
turns a flat row into a record; bulk loads check flat rows without nesting
them (:class:`FlatLayout`, the same field validators, several times cheaper)
and fall back to :func:`from_flat` for any row that is not plainly valid.

Unknown fields are ignored so that a lender's richer payload does not break
scoring; protected attributes (sex, ethnicity, religion, ...) may therefore
arrive but are never read by any detector.
"""

from __future__ import annotations

import re
import time
import types
import typing
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import compress
from typing import Annotated, Any, Required

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from typing_extensions import TypedDict

from graph import canonical
from graph.errors import InvalidInput

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"

# -- input rules ------------------------------------------------------------------
#
# Every rule is a field constraint or a validator inside the field's annotation, so the
# flat check of bulk loads (FlatLayout below) applies it too, and pydantic reports every
# failing field of a record at once: the HTTP answer names them all. The README's
# "Input rules" section lists them.

EARLIEST = date(1900, 1, 1)
"""No time or birth date before this day is accepted."""
_EARLIEST_TS = datetime(1900, 1, 1, tzinfo=UTC).timestamp()
MAX_AMOUNT = 10_000_000_000.0
"""Largest ``amount`` and ``income`` (in the loan's currency: room for any currency's consumer loans)."""
MAX_SECONDS = 2_592_000.0
"""Largest ``behaviour.form_fill_seconds`` and ``behaviour.session_seconds`` (30 days)."""
MAX_COUNT = 1_000_000
"""Largest ``behaviour.field_edits`` and ``behaviour.paste_events``."""


@dataclass(frozen=True, slots=True)
class InputRules:
    """The input rules a deployment sets (``RINGSIGHT_MAX_PAST_DAYS``,
    ``RINGSIGHT_MAX_FUTURE_SECONDS``, ``RINGSIGHT_PHONE_REGION``; see api/settings.py).

    ``submitted_at`` and ``applicant.account_created_at`` must lie between
    ``max_past_days`` before now and ``max_future_seconds`` after it (clock skew);
    phone numbers without a country code are read in ``phone_region``.
    """

    max_past_days: float = 7305.0  # 20 years: historic loads (the external data sets are from 2017-2019)
    max_future_seconds: float = 300.0
    phone_region: str = "CN"

    def __post_init__(self) -> None:
        if not (0 < self.max_past_days <= 365_250 and 0 <= self.max_future_seconds <= 31_622_400):
            raise ValueError("max_past_days must be in (0, 365250] and max_future_seconds in [0, 31622400]")


_rules = InputRules()


def input_rules() -> InputRules:
    """The rules records are checked against (the defaults until configured)."""
    return _rules


def configure_input_rules(rules: InputRules) -> None:
    """Check records against ``rules`` from now on, in this process (api/bootstrap.py does it
    from the settings, for the HTTP service and every CLI command alike)."""
    global _rules
    _rules = rules


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _no_number(what: str, example: str) -> Any:
    """A check before parsing: pydantic reads a number (or numeric text) as Unix time; a
    time or date here is ISO 8601 text (or, from a typed file, a datetime or date)."""
    message = f"a number is not a {what}: send ISO 8601 text such as {example}"

    def check(value: Any) -> Any:
        if type(value) is str:
            if value[4:5] != "-" and _NUMBER.fullmatch(value):  # ISO text has its hyphen there
                raise PydanticCustomError(f"{what.replace(' ', '_')}_number", message)
            return value
        if isinstance(value, int | float):  # bool is an int
            raise PydanticCustomError(f"{what.replace(' ', '_')}_number", message)
        return value

    return BeforeValidator(check)


def _in_window(value: datetime) -> datetime:
    """1900 or later, and within the configured window around now. Checked on the year
    first: converting a time at the ends of the calendar (year 1 or 9999 with an offset)
    overflows."""
    if value.year < EARLIEST.year:
        raise PydanticCustomError("time_too_early", "must not be before 1900-01-01")
    rules = _rules
    if value.year > 9998:
        raise PydanticCustomError("time_in_future", "must not be in the future")
    ts = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()
    if ts < _EARLIEST_TS:
        raise PydanticCustomError("time_too_early", "must not be before 1900-01-01")
    now = time.time()
    if ts > now + rules.max_future_seconds:
        message = f"must not be in the future (more than {rules.max_future_seconds:g} s after now)"
        raise PydanticCustomError("time_in_future", message)
    if ts < now - rules.max_past_days * 86_400.0:
        raise PydanticCustomError("time_too_old", f"must not be more than {rules.max_past_days:g} days in the past")
    return value


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _born(value: date) -> date:
    if value < EARLIEST:
        raise PydanticCustomError("birth_too_early", "must not be before 1900-01-01")
    if value.toordinal() > _EPOCH_ORDINAL + int(time.time() // 86_400):  # after today (UTC)
        raise PydanticCustomError("birth_in_future", "must be in the past")
    return value


def _visible(at_least: int) -> AfterValidator:
    """At least ``at_least`` visible characters (letters, digits, punctuation, symbols):
    an identifier of control, format (zero-width, direction marks) or space characters
    alone names nobody."""

    def check(value: str) -> str:
        if value.isascii() and value.isprintable():
            if len(value) - value.count(" ") >= at_least:
                return value
        else:
            seen = 0
            for char in value:
                if unicodedata.category(char)[0] in "LNPS":
                    seen += 1
                    if seen >= at_least:
                        return value
        raise PydanticCustomError(
            "invisible_identifier",
            "must have at least {count} visible character(s); control, format and space characters do not count",
            {"count": at_least},
        )

    return AfterValidator(check)


def _parsed(kind: str, parse: Any) -> AfterValidator:
    """The identifier's canonical form must exist (graph.canonical: the normaliser's own);
    an empty value is an absent one, as the normaliser takes it."""

    def check(value: str) -> str:
        if value:
            try:
                parse(value)
            except InvalidInput as exc:
                raise PydanticCustomError(kind, "{reason}", {"reason": exc.message}) from None
        return value

    return AfterValidator(check)


_NOT_ACCOUNT_CHAR = re.compile(r"[^0-9a-z]")


def _account_number(value: str) -> str:
    # The normaliser keys an account by its letters and digits (graph.normalise._bank_account):
    # it needs four of them.
    if not (value.isascii() and value.isalnum()) and len(_NOT_ACCOUNT_CHAR.sub("", value.casefold())) < 4:
        raise PydanticCustomError("account_number", "too short to be an account number (4 letters or digits)")
    return value


# Times and dates parse as before in JSON too (a date alone is its midnight; a validator
# before the parse hands pydantic a Python string, which a strict date refuses); numbers
# are refused by that validator.
Timestamp = Annotated[
    datetime, Field(strict=False), _no_number("time", "2026-11-20T10:31:00Z"), AfterValidator(_in_window)
]
BirthDate = Annotated[date, Field(strict=False), _no_number("date", "1990-03-07"), AfterValidator(_born)]
Phone = Annotated[str, Field(max_length=64), _parsed("phone_number", lambda v: canonical.phone(v, _rules.phone_region))]
Email = Annotated[str, Field(max_length=320), _parsed("email_address", canonical.email)]
IPAddress = Annotated[str, Field(max_length=64), _parsed("ip_address", canonical.ip)]
Text32 = Annotated[str, Field(max_length=32)]
Text64 = Annotated[str, Field(max_length=64)]
Text128 = Annotated[str, Field(max_length=128)]
Text256 = Annotated[str, Field(max_length=256)]
Money = Annotated[float, Field(gt=0, le=MAX_AMOUNT)]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class _Part(BaseModel):
    # strict: JSON types as they are ("5000" is not a number, true is not 1); bulk loads of
    # text cells validate with strict=False (from_flat) or through the flat check.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=True, allow_inf_nan=False)


class Geo(_Part):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


def _utc(value: datetime) -> datetime:
    # Naive times are taken as UTC: every stored time is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Applicant(_Part):
    national_id: Annotated[str, Field(min_length=4, max_length=64), _visible(4)]
    name: Text256 | None = None
    date_of_birth: BirthDate | None = None
    account_created_at: Timestamp | None = None

    @field_validator("account_created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)


class Device(_Part):
    fingerprint: Annotated[str, Field(min_length=1, max_length=256), _visible(1)] | None = None
    os: Text64 | None = None
    ip: IPAddress | None = None
    geo: Geo | None = None


class Employer(_Part):
    name: Annotated[str, Field(min_length=1, max_length=256), _visible(1)]


class Address(_Part):
    line: Annotated[str, Field(max_length=512), _visible(1)] | None = None
    city: Text128 | None = None
    postal_code: Text32 | None = None
    country: Text64 | None = None


class BankAccount(_Part):
    number: Annotated[str, Field(min_length=4, max_length=64), AfterValidator(_account_number)]
    bank: Text128 | None = None


class Behaviour(_Part):
    form_fill_seconds: Seconds | None = None
    field_edits: Count | None = None
    paste_events: Count | None = None
    session_seconds: Seconds | None = None


class ApplicationRecord(_Part):
    """One loan application as submitted. See the module docstring, and the input rules above."""

    application_id: Annotated[str, Field(pattern=_ID_PATTERN)]
    submitted_at: Timestamp
    applicant: Applicant
    device: Device | None = None
    phone: Phone | None = None
    email: Email | None = None
    employer: Employer | None = None
    address: Address | None = None
    bank_account: BankAccount | None = None
    amount: Money | None = None
    income: Annotated[float, Field(ge=0, le=MAX_AMOUNT)] | None = None
    product: Text64 | None = None
    channel: Text64 | None = None
    behaviour: Behaviour | None = None

    @field_validator("submitted_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)

    @field_validator("applicant")
    @classmethod
    def _account_before_application(cls, value: Applicant, info: ValidationInfo) -> Applicant:
        # submitted_at is validated before applicant (field order): it is here if it is valid.
        submitted = info.data.get("submitted_at")
        created = value.account_created_at
        if submitted is not None and created is not None and created > submitted:
            raise ValidationError.from_exception_data(
                "Applicant",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("account_after_application", "must not be later than submitted_at"),
                        loc=("account_created_at",),
                        input=created.isoformat(),
                    )
                ],
            )
        return value

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


class InvalidRecord(InvalidInput):
    """A record with failing fields: ``errors`` names every one as (dotted field, message);
    ``field`` and ``message`` are the first's, the message naming the others too."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        field, message = errors[0]
        if len(errors) > 1:
            message += " (also failing: " + "; ".join(f"{f}: {m}" for f, m in errors[1:]) + ")"
        super().__init__(field, message)
        self.errors = errors


def _invalid(exc: ValidationError) -> InvalidRecord:
    return InvalidRecord([(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()])


def parse_record(payload: dict[str, Any]) -> ApplicationRecord:
    """Validate one nested payload of Python values (text cells of a flat file, nested;
    numbers in text are read as numbers); raise :class:`InvalidRecord` naming every bad field.
    JSON text is checked strictly by :func:`parse_json`."""
    try:
        return ApplicationRecord.model_validate(payload, strict=False)
    except ValidationError as exc:
        raise _invalid(exc) from exc


def parse_json(body: str | bytes) -> ApplicationRecord:
    """Validate one application as JSON text, strictly (as the scoring routes do: ``"5000"``
    is not a number); raise :class:`InvalidRecord` naming every bad field (``body`` for
    text that is not JSON)."""
    try:
        return ApplicationRecord.model_validate_json(body)
    except ValidationError as exc:
        raise _invalid(exc) from exc


def from_flat(row: dict[str, Any]) -> ApplicationRecord:
    """Validate one flat (CSV/Parquet) row."""
    return parse_record(nest(row))


# -- flat rows without nesting ---------------------------------------------------
#
# A bulk load validates millions of flat rows. Nesting each row and building
# seven sub-models costs more than the rest of the row's normalisation, so a
# row is first checked flat: one typed dict keyed by the dotted columns whose
# field types (constraints included) are taken from the nested models, so every
# cell is parsed by the very validator the nested model would use. A row passes
# only if the nested model would accept it too (every required field of every
# part the row has is there); any other row goes to from_flat, which names the
# error exactly as before. Tested against the nested road in
# tests/test_loading_equivalence.py.


def _part_model(annotation: Any) -> type[BaseModel] | None:
    """The sub-model behind a field's annotation (``Device | None`` -> Device), if any."""
    options = (
        typing.get_args(annotation)
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
        else (annotation,)
    )
    for option in options:
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _leaf_annotation(model: type[BaseModel], name: str) -> Any:
    info = model.model_fields[name]
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _needed(model: type[BaseModel], prefix: str) -> list[str] | None:
    """The leaf columns a (sub-)model needs when it is there (its required parts' too);
    ``None`` if that cannot be told from leaves (a required part with no required leaf)."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        if not info.is_required():
            continue
        sub = _part_model(info.annotation)
        if sub is None:
            out.append(f"{prefix}{name}")
            continue
        inner = _needed(sub, f"{prefix}{name}.")
        if not inner:
            return None
        out.extend(inner)
    return out


def _flat_fields() -> dict[str, Any]:
    # The columns every valid row has (application_id, submitted_at, the applicant's
    # national id) are required keys: a row without one fails the check outright.
    needed = set(_needed(ApplicationRecord, "") or ())
    out: dict[str, Any] = {}
    for column in FLAT_COLUMNS:
        *parents, name = column.split(".")
        model: type[BaseModel] = ApplicationRecord
        for part in parents:
            sub = _part_model(model.model_fields[part].annotation)
            assert sub is not None, column
            model = sub
        annotation = _leaf_annotation(model, name)
        out[column] = Required[annotation] if column in needed else annotation
    return out


_FlatRecord = TypedDict("_FlatRecord", _flat_fields(), total=False)  # type: ignore[misc]
_FlatRecord.__pydantic_config__ = ConfigDict(extra="ignore", str_strip_whitespace=True, allow_inf_nan=False)  # type: ignore[attr-defined]
_FLAT_REQUIRED = frozenset(_FlatRecord.__required_keys__)
_flat_validator: Any = None


def _validate_flat(filled: dict[str, Any]) -> dict[str, Any]:
    global _flat_validator
    if _flat_validator is None:  # built on first use: most processes never load in bulk
        _flat_validator = TypeAdapter(_FlatRecord).validator
    result: dict[str, Any] = _flat_validator.validate_python(filled)
    return result


def _walk(column: str) -> tuple[bool, list[str]]:
    """Whether a column can be checked flat, and the parts (dotted prefixes) it makes present.

    A column is checked flat if it is a known column or one the nested model
    ignores (an unknown name at the top or inside a part); one whose path runs
    into a scalar field or stops at a part (``phone.x``, ``device``) is not.
    """
    parts = column.split(".")
    model: type[BaseModel] = ApplicationRecord
    present: list[str] = []
    for depth, part in enumerate(parts):
        info = model.model_fields.get(part)
        if info is None:  # ignored by the nested model, but it does make its parents present
            return True, present
        sub = _part_model(info.annotation)
        last = depth == len(parts) - 1
        if sub is None:
            return last, present
        if last:
            return False, present
        present.append(".".join(parts[: depth + 1]))
        model = sub
    return False, present  # pragma: no cover - the loop always returns


def _part_models() -> dict[str, type[BaseModel]]:
    out: dict[str, type[BaseModel]] = {}

    def visit(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            sub = _part_model(info.annotation)
            if sub is not None:
                out[f"{prefix}{name}"] = sub
                visit(sub, f"{prefix}{name}.")

    visit(ApplicationRecord, "")
    return out


_PARTS = _part_models()


class FlatLayout:
    """How rows with one set of columns are checked flat.

    ``values(row)`` gives the validated cells of a row by column (blank cells
    left out, like :func:`nest` drops them) when the nested model would accept
    the row, and ``None`` otherwise; the caller then takes the row through
    :func:`from_flat` for the record or the exact error.

    >>> layout = FlatLayout(["application_id", "submitted_at", "applicant.national_id", "amount"])
    >>> layout.values({"application_id": "A-1", "submitted_at": "2026-01-02T03:04:05Z",
    ...                "applicant.national_id": "1101", "amount": " 12 "})["amount"]
    12.0
    >>> layout.values({"application_id": "A-1", "submitted_at": "soon",
    ...                "applicant.national_id": "1101", "amount": ""}) is None
    True
    """

    def __init__(self, columns: Iterable[Any]) -> None:
        self.columns = tuple(columns)
        # Repeated names: a dict of the row keeps the last cell of a name, the flat check
        # would keep the last filled one. Such files take the nested road.
        self.usable = all(type(c) is str for c in self.columns) and len(set(self.columns)) == len(self.columns)
        present_by: dict[str, list[str]] = {}
        for column in self.columns if self.usable else ():
            ok, present = _walk(column)
            self.usable = self.usable and ok
            for part in present:
                present_by.setdefault(part, []).append(column)
        needed = _needed(ApplicationRecord, "")
        self.usable = self.usable and needed is not None and set(needed) <= set(_FLAT_REQUIRED)
        # A part that is there (a cell of it is filled) needs its required fields:
        # geo with a latitude alone, a bank name without a number. A part whose only
        # column is its one required field cannot fail this.
        checks = []
        for part, columns in present_by.items():
            leaves = _needed(_PARTS[part], f"{part}.")
            if leaves is None:
                self.usable = False
            elif set(leaves) - set(needed or ()) and not (len(leaves) == 1 and columns == leaves):
                checks.append((tuple(columns), tuple(leaves)))
        self.checks = tuple(checks)

    def values(self, row: dict[str, Any]) -> dict[str, Any] | None:
        if not self.usable:
            return None
        filled = {k: v for k, v in row.items() if (v.strip() if type(v) is str else not (v is None or v != v))}
        return self._checked(filled)

    def cell_values(self, cells: Sequence[str]) -> dict[str, Any] | None:
        """Like :meth:`values` for the cells of a CSV row (text, in column order)."""
        if not self.usable:
            return None
        filled = dict(compress(zip(self.columns, cells, strict=True), map(str.strip, cells)))
        return self._checked(filled)

    def _checked(self, filled: dict[str, Any]) -> dict[str, Any] | None:
        try:
            values = _validate_flat(filled)
        except ValidationError:
            return None
        for columns, required in self.checks:
            if any(c in filled for c in columns) and not all(r in values for r in required):
                return None
        created = values.get("applicant.account_created_at")
        if created is not None and submitted_ts(created) > submitted_ts(values["submitted_at"]):
            return None  # an account opened after the application: the nested road names it
        return values


_LAYOUTS: dict[tuple[Any, ...], FlatLayout] = {}


def flat_layout(columns: Iterable[Any]) -> FlatLayout:
    """The (cached) layout of a set of columns in order."""
    key = tuple(columns)
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = FlatLayout(key)
        if len(_LAYOUTS) < 256:
            _LAYOUTS[key] = layout
    return layout


def submitted_ts(value: datetime) -> float:
    """Epoch seconds of a validated ``submitted_at`` or ``account_created_at`` (what the
    nested record gives: :attr:`ApplicationRecord.ts`)."""
    if value.tzinfo is not None and 1 < value.year < 9999:
        return value.timestamp()  # the same instant in UTC; converting can only overflow at the ends
    return _utc(value).timestamp()
