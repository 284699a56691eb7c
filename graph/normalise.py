"""Normalisation and PII protection.

Two spellings of one phone number, e-mail address or employer must end in one
node, so each identifier is put in a canonical form first (phone numbers to
E.164 with ``phonenumbers``, e-mail addresses through ``email-validator`` and
lower-cased, employer names stripped of legal suffixes by ``cleanco``), then
keyed-hashed (HMAC-SHA256 with the deployment's secret) so that raw personal
information is never stored. What investigators see is a masked form.

>>> n = Normaliser(b"k" * 32, "CN")
>>> n.identifier("phone", "+86 138 0013 8000") == n.identifier("phone", "13800138000")
True
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache

import phonenumbers
from cleanco import basename
from email_validator import EmailNotValidError, validate_email

from graph.errors import InvalidInput
from graph.records import ApplicationRecord
from graph.vocabulary import applicant_node, application_node

FIELD_OF_KIND: dict[str, str] = {
    "device": "device.fingerprint",
    "phone": "phone",
    "email": "email",
    "employer": "employer.name",
    "address": "address.line",
    "ip": "device.ip",
    "bank_account": "bank_account.number",
    "national_id": "applicant.national_id",
}

_MEMO_SIZE = 200_000
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
)
_SPACES = re.compile(r"\s+")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}", re.ASCII)
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A normalised, hashed identifier: ``node_id`` is ``kind:key``."""

    kind: str
    key: str
    display: str

    @property
    def node_id(self) -> str:
        return f"{self.kind}:{self.key}"

    def __reduce__(self) -> tuple[type[Identifier], tuple[str, str, str]]:
        # Pickled by value (loader workers send millions): the dataclass default
        # goes through Python-level __getstate__/__setstate__, several times slower.
        return Identifier, (self.kind, self.key, self.display)


@dataclass(slots=True)
class NormalisedApplication:
    """An application as stored: canonical, hashed, masked; no raw PII and no
    protected attributes (date of birth and name are not kept)."""

    application_id: str
    ts: float
    applicant_key: str
    applicant_display: str
    identifiers: tuple[Identifier, ...]
    account_created_ts: float | None = None
    amount: float | None = None
    income: float | None = None
    product: str | None = None
    channel: str | None = None
    device_os: str | None = None
    lat: float | None = None
    lon: float | None = None
    form_fill_seconds: float | None = None
    field_edits: int | None = None
    paste_events: int | None = None
    session_seconds: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __reduce__(self) -> tuple[type[NormalisedApplication], tuple[object, ...]]:
        return NormalisedApplication, tuple(getattr(self, name) for name in _APPLICATION_FIELDS)

    @property
    def applicant_node(self) -> str:
        return applicant_node(self.applicant_key)

    @property
    def node_id(self) -> str:
        return application_node(self.application_id)

    def submitted_at(self) -> datetime:
        from datetime import UTC

        return datetime.fromtimestamp(self.ts, UTC)


def _mask_middle(text: str, keep_start: int, keep_end: int) -> str:
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    hidden = len(text) - keep_start - keep_end
    return text[:keep_start] + "*" * hidden + (text[-keep_end:] if keep_end else "")


def canonical_employer(name: str) -> str:
    """Employer name without legal suffixes, punctuation or case.

    >>> canonical_employer("Example Trading Co., Ltd.") == canonical_employer("EXAMPLE TRADING CO LTD")
    True
    """
    # Punctuation to spaces first ("Co.,Ltd." and "Co., Ltd." alike), then cleanco
    # strips one layer of legal suffix at a time ("Co Ltd" is two layers).
    return _employer_base(_SPACES.sub(" ", _NOT_WORD.sub(" ", name)).strip())


@lru_cache(maxsize=65536)
def _employer_base(spaced: str) -> str:
    # cleanco is the costly part (~50 µs a name); spellings that differ only in
    # punctuation and spacing share one entry.
    base = basename(basename(spaced))
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", base.casefold())).strip()


class Normaliser:
    """Canonicalises and keyed-hashes identifiers with one deployment secret."""

    def __init__(self, pii_key: bytes, default_region: str = "CN") -> None:
        if len(pii_key) < 16:
            raise ValueError("the PII hashing key must be at least 16 bytes")
        self._key = pii_key
        # Keyed once: each hash copies the prepared HMAC state (same digest as hmac.new).
        self._hmac = hmac.new(pii_key, digestmod=hashlib.sha256)
        self.default_region = default_region
        self._seen: dict[tuple[str, str], Identifier] = {}

    @property
    def key_fingerprint(self) -> str:
        """Names the PII key without revealing it: stores record it, so a process
        with another key (whose lookups would miss every stored identifier) is refused."""
        digest = self._hmac.copy()
        digest.update(b"ringsight pii key fingerprint")
        return digest.hexdigest()[:16]

    def hash(self, kind: str, canonical: str) -> str:
        digest = self._hmac.copy()
        digest.update(f"{kind}\x1f{canonical}".encode())
        return digest.hexdigest()[:24]

    # -- one function per kind: (canonical value, masked display) -------------
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
            # Plain ASCII addresses: email-validator would only lower-case the domain;
            # skipping its IDNA machinery makes bulk loads several times faster.
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
            # A dotted quad without leading zeros is already canonical (ipaddress agrees;
            # see the property test); the parser costs more than the rest of the row.
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
            canonical = canonical_employer(raw) or canonical
            return canonical, canonical
        if kind == "national_id":
            canonical = canonical.replace(" ", "").upper()
            return canonical, _mask_middle(canonical, 4, 4)
        if kind == "address":
            return canonical, _mask_middle(canonical, 0, 0)[:6] + "…"
        return canonical, _mask_middle(canonical, 4, 0)

    def canonical(self, kind: str, raw: str) -> tuple[str, str]:
        """Canonical value and masked display of one raw identifier."""
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
        """Canonicalise and hash one raw value. Repeated values (employers, shared
        devices, kiosks) are served from a bounded memo."""
        memo = self._seen.get((kind, raw))
        if memo is not None:
            return memo
        canonical, display = self.canonical(kind, raw)
        ident = Identifier(kind, self.hash(kind, canonical), display)
        if len(self._seen) >= _MEMO_SIZE:
            self._seen.clear()
        self._seen[(kind, raw)] = ident
        return ident

    def node_for(self, kind: str, raw: str) -> str:
        """Node id for a raw value an investigator types in (``national_id`` too)."""
        if kind == "national_id":
            return applicant_node(self.identifier("national_id", raw).key)
        return self.identifier(kind, raw).node_id

    def application(self, record: ApplicationRecord) -> NormalisedApplication:
        """Normalise one validated record. Raises :class:`InvalidInput` naming the field."""
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


_APPLICATION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(NormalisedApplication))

SCALAR_PROPS: tuple[str, ...] = (
    "account_created_ts",
    "amount",
    "income",
    "product",
    "channel",
    "device_os",
    "lat",
    "lon",
    "form_fill_seconds",
    "field_edits",
    "paste_events",
    "session_seconds",
)


def application_props(app: NormalisedApplication) -> dict[str, object]:
    """The scalar properties of an application, as stored by both backends."""
    return {name: getattr(app, name) for name in SCALAR_PROPS}


def application_from_parts(
    application_id: str,
    ts: float,
    applicant_key: str,
    applicant_display: str,
    identifiers: list[tuple[str, str, str]] | list[list[str]],
    props: dict[str, object],
) -> NormalisedApplication:
    """Rebuild an application read back from a store."""
    idents = tuple(Identifier(k, key, d) for k, key, d in identifiers)
    known = {name: props.get(name) for name in SCALAR_PROPS}
    return NormalisedApplication(
        application_id, ts, applicant_key, applicant_display, idents, **known  # type: ignore[arg-type]
    )
