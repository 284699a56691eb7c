"""Normalisation and PII protection.

Two spellings of one phone number, e-mail address or employer must end in one
node, so each identifier is put in a canonical form first (phone numbers to
E.164 with ``phonenumbers``, e-mail addresses through ``email-validator`` and
lower-cased, employer names stripped of legal suffixes by ``cleanco``), then
keyed-hashed (HMAC-SHA256 with the deployment's secret) so that raw personal
information is never stored. What investigators see is a masked form. The phone,
e-mail and IP forms live in :mod:`graph.canonical`, which the record's input rules
use too: a value the record accepts is one this module can key.

>>> n = Normaliser(b"k" * 32, "CN")
>>> n.identifier("phone", "+86 138 0013 8000") == n.identifier("phone", "13800138000")
True
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from itertools import starmap
from typing import Any

from cleanco import basename
from cleanco import clean as cleanco_clean
from cleanco.non_nfkd_map import NON_NFKD_MAP

from graph import canonical as _canonical

# The phone, e-mail and IP forms (and their fast paths) live in graph.canonical, which
# the record's input rules share; these names stay importable from here.
from graph.canonical import _CN_MOBILE as _CN_MOBILE
from graph.canonical import _PLAIN_EMAIL as _PLAIN_EMAIL
from graph.canonical import _PLAIN_IPV4 as _PLAIN_IPV4
from graph.canonical import mask_middle as _mask_middle
from graph.errors import InvalidInput
from graph.records import ApplicationRecord, submitted_ts
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

# Memo bounds by kind: employers repeat across the whole file; other values repeat
# close together (shared devices, re-sent applications, rings), and a large memo of
# mostly unique values costs more in cache misses than its few hits save.
_MEMO_SIZE = 4_096
_MEMO_SIZES = {"employer": 65_536}
_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
_NOT_ACCOUNT_CHAR = re.compile(r"[^0-9a-z]")
try:  # CPython's own SHA-256 (3.11: _sha256, later _sha2): its states copy faster than OpenSSL's
    from _sha256 import sha256 as _sha256
except ImportError:  # pragma: no cover - another interpreter version
    try:
        from _sha2 import sha256 as _sha256
    except ImportError:
        _sha256 = hashlib.sha256
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


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
    # cleanco is the costly part; spellings that differ only in punctuation and
    # spacing share one entry.
    base = _basename(_basename(spaced))
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", base.casefold())).strip()


def _suffix_index() -> dict[tuple[str, ...], list[int]] | None:
    """cleanco's legal-suffix terms by their parts, each with its places in cleanco's
    order; None if ``basename`` is not the suffix-only partial this mirrors."""
    if not (
        isinstance(basename, functools.partial)
        and basename.func is cleanco_clean.custom_basename
        and not basename.args
        and set(basename.keywords) == {"terms"}
    ):
        return None
    index: dict[tuple[str, ...], list[int]] = {}
    for place, (size, parts) in enumerate(basename.keywords["terms"]):
        if size != len(parts) or size < 1:
            return None
        index.setdefault(tuple(parts), []).append(place)
    return index


_SUFFIXES = _suffix_index()
_SUFFIX_SIZES = sorted({len(parts) for parts in _SUFFIXES}) if _SUFFIXES else []


def _basename(name: str) -> str:
    """``cleanco.basename(name)``, without its walk over every term for every name.

    cleanco tries each of its ~320 terms in order against the name's tail and
    drops each that matches (the tail shrinking as it goes). The same walk, done
    by looking the tail up: the next term to drop is the first one, after the
    last dropped, among the terms equal to one of the tail's last 1-4 words.
    Checked against cleanco in tests/test_loading_equivalence.py.
    """
    if _SUFFIXES is None:
        return str(basename(name))
    name = _strip_tail(name)
    nparts = name.split()
    nnparts = list(map(cleanco_clean.strip_punct, _normalized(name).split()))
    after = 0
    while True:
        first = None
        for size in _SUFFIX_SIZES:
            if size > len(nnparts):
                break
            places = _SUFFIXES.get(tuple(nnparts[-size:]))
            if places is not None:
                at = bisect.bisect_left(places, after)
                if at < len(places) and (first is None or places[at] < first):
                    first = places[at]
        if first is None:
            break
        size = len(basename.keywords["terms"][first][1])
        del nnparts[-size:]
        del nparts[-size:]
        after = first + 1
    return _strip_tail(" ".join(nparts))


# Plain ASCII names (most) skip cleanco's character-by-character Unicode work: for
# them its accent removal is lower-casing (no ASCII character decomposes or is
# mapped), and its tail strip drops trailing characters other than [.\w].
_ASCII_NOT_WORD = "".join(c for c in map(chr, range(128)) if not (c.isalnum() or c in "._"))
_ASCII_PLAIN = not any(k.isascii() for k in NON_NFKD_MAP)


def _strip_tail(name: str) -> str:
    if _ASCII_PLAIN and name.isascii():
        return name.rstrip(_ASCII_NOT_WORD)
    return str(cleanco_clean.strip_tail(name))


def _normalized(name: str) -> str:
    if _ASCII_PLAIN and name.isascii():
        return name.lower()
    return str(cleanco_clean.normalized(name))


def _plain_canonical(kind: str, raw: str) -> str:
    """Stripped, case-folded, runs of whitespace as one space; never empty."""
    text = raw.strip().casefold()
    # Printable text has no whitespace but the plain space: most values need no regex.
    canonical = text if text.isprintable() and "  " not in text else _SPACES.sub(" ", text)
    if not canonical:
        raise InvalidInput(FIELD_OF_KIND[kind], "must not be empty")
    return canonical


# One function per plain kind: (canonical value, masked display). The masks are
# _mask_middle's, written out (these run for nearly every row of a bulk load).


def _device(raw: str) -> tuple[str, str]:
    canonical = _plain_canonical("device", raw)
    if len(canonical) <= 4:
        return canonical, "*" * len(canonical)
    return canonical, canonical[:4] + "*" * (len(canonical) - 4)


def _bank_account(raw: str) -> tuple[str, str]:
    canonical = _plain_canonical("bank_account", raw)
    compact = canonical.replace(" ", "")
    if not (compact.isascii() and compact.isalnum()):  # else only [0-9a-z] is left: nothing to drop
        compact = _NOT_ACCOUNT_CHAR.sub("", canonical)
    if len(compact) < 4:
        raise InvalidInput("bank_account.number", "too short to be an account number")
    return compact, "****" + compact[-4:]


def _employer(raw: str) -> tuple[str, str]:
    canonical = _plain_canonical("employer", raw)
    canonical = canonical_employer(raw) or canonical
    return canonical, canonical


def _national_id(raw: str) -> tuple[str, str]:
    # At most the last 4 characters, and never more than a third of the id (a short id
    # would otherwise be most of the way to its owner).
    canonical = _plain_canonical("national_id", raw).replace(" ", "").upper()
    shown = min(4, len(canonical) // 3)
    return canonical, "*" * (len(canonical) - shown) + (canonical[-shown:] if shown else "")


def _address(raw: str) -> tuple[str, str]:
    canonical = _plain_canonical("address", raw)
    return canonical, "*" * min(len(canonical), 6) + "…"


_PLAIN: dict[str, Callable[[str], tuple[str, str]]] = {
    "device": _device,
    "employer": _employer,
    "address": _address,
    "bank_account": _bank_account,
    "national_id": _national_id,
}


ApplicationFields = tuple[Any, ...]
"""A :class:`NormalisedApplication` as plain values: its fields in order, the
identifiers as (kind, key, display) triples, without ``extra``."""


class Normaliser:
    """Canonicalises and keyed-hashes identifiers with one deployment secret."""

    def __init__(self, pii_key: bytes, default_region: str = "CN") -> None:
        if len(pii_key) < 16:
            raise ValueError("the PII hashing key must be at least 16 bytes")
        self._key = pii_key
        self._hmac = hmac.new(pii_key, digestmod=hashlib.sha256)
        # HMAC-SHA256 by its definition, keyed once: each hash copies two prepared
        # SHA-256 states (hmac's own copy() costs twice as much). The inner state
        # has the kind and separator in it already.
        block = (hashlib.sha256(pii_key).digest() if len(pii_key) > 64 else pii_key).ljust(64, b"\0")
        self._outer = _sha256(block.translate(_OPAD))
        inner = _sha256(block.translate(_IPAD))
        self._inner: dict[str, Any] = {}
        for kind in FIELD_OF_KIND:
            state = inner.copy()
            state.update(f"{kind}\x1f".encode())
            self._inner[kind] = state
        self._inner_base = inner
        self.default_region = default_region
        # Bounded memos by raw value, one per kind, of (kind, key, display).
        self._seen: dict[str, dict[str, tuple[str, str, str]]] = {kind: {} for kind in FIELD_OF_KIND}
        canonical_of: dict[str, Callable[[str], tuple[str, str]]] = {
            "phone": self._phone,
            "email": self._email,
            "ip": self._ip,
            **_PLAIN,
        }
        seen = self._seen
        kinds = ("national_id", "device", "phone", "email", "employer", "address", "ip", "bank_account")
        self._memos = tuple(seen[kind] for kind in kinds)  # in flat_fields' order
        # What _fresh needs of a kind, in one lookup.
        self._kinds = {
            kind: (canonical_of[kind], self._inner[kind], self._seen[kind], _MEMO_SIZES.get(kind, _MEMO_SIZE))
            for kind in FIELD_OF_KIND
        }

    @property
    def key_fingerprint(self) -> str:
        """Names the PII key without revealing it: stores record it, so a process
        with another key (whose lookups would miss every stored identifier) is refused."""
        digest = self._hmac.copy()
        digest.update(b"ringsight pii key fingerprint")
        return digest.hexdigest()[:16]

    def hash(self, kind: str, canonical: str) -> str:
        """Keyed hash of a canonical value: HMAC-SHA256 of ``kind``, 0x1f, ``canonical``; 24 hex digits."""
        state = self._inner.get(kind)
        if state is None:
            inner = self._inner_base.copy()
            inner.update(f"{kind}\x1f{canonical}".encode())
        else:
            inner = state.copy()
            inner.update(canonical.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:24]

    # -- one function per kind: (canonical value, masked display) -------------
    def _phone(self, raw: str) -> tuple[str, str]:
        return _canonical.phone(raw, self.default_region)

    _email = staticmethod(_canonical.email)
    _ip = staticmethod(_canonical.ip)

    @staticmethod
    def _plain(kind: str, raw: str) -> tuple[str, str]:
        canonicalise = _PLAIN.get(kind)
        if canonicalise is not None:
            return canonicalise(raw)
        canonical = _plain_canonical(kind, raw)
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
        seen = self._seen.get(kind)
        if seen is None:
            canonical, display = self.canonical(kind, raw)  # an unknown kind raises here
            return Identifier(kind, self.hash(kind, canonical), display)
        return Identifier(*(seen.get(raw) or self._fresh(kind, raw)))

    def _fresh(self, kind: str, raw: str) -> tuple[str, str, str]:
        """A known kind's (kind, key, display), not in the memo: made and remembered."""
        canonicalise, inner_state, seen, bound = self._kinds[kind]
        canonical, display = canonicalise(raw)
        inner = inner_state.copy()
        inner.update(canonical.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        made = (kind, outer.hexdigest()[:24], display)
        if len(seen) >= bound:
            seen.clear()
        seen[raw] = made
        return made

    def node_for(self, kind: str, raw: str) -> str:
        """Node id for a raw value an investigator types in (``national_id`` too)."""
        if kind == "national_id":
            return applicant_node(self.identifier("national_id", raw).key)
        return self.identifier(kind, raw).node_id

    def application(self, record: ApplicationRecord) -> NormalisedApplication:
        """Normalise one validated record. Raises :class:`InvalidInput` naming the field."""
        return application_of(self.record_fields(record))

    def record_fields(self, record: ApplicationRecord) -> ApplicationFields:
        """:meth:`application` as plain values (see :meth:`flat_fields`)."""
        applicant = record.applicant
        values: dict[str, Any] = {
            "application_id": record.application_id,
            "submitted_at": record.submitted_at,
            "applicant.national_id": applicant.national_id,
            "applicant.account_created_at": applicant.account_created_at,
            "phone": record.phone,
            "email": record.email,
            "amount": record.amount,
            "income": record.income,
            "product": record.product,
            "channel": record.channel,
        }
        device = record.device
        if device is not None:
            values["device.fingerprint"] = device.fingerprint
            values["device.ip"] = device.ip
            values["device.os"] = device.os
            if device.geo is not None:
                values["device.geo.lat"] = device.geo.lat
                values["device.geo.lon"] = device.geo.lon
        if record.employer is not None:
            values["employer.name"] = record.employer.name
        address = record.address
        if address is not None:
            values["address.line"] = address.line
            values["address.city"] = address.city
            values["address.postal_code"] = address.postal_code
            values["address.country"] = address.country
        if record.bank_account is not None:
            values["bank_account.number"] = record.bank_account.number
        behaviour = record.behaviour
        if behaviour is not None:
            values["behaviour.form_fill_seconds"] = behaviour.form_fill_seconds
            values["behaviour.field_edits"] = behaviour.field_edits
            values["behaviour.paste_events"] = behaviour.paste_events
            values["behaviour.session_seconds"] = behaviour.session_seconds
        return self.flat_fields(values)

    def flat_application(self, values: dict[str, Any]) -> NormalisedApplication:
        """Normalise one row checked flat (:meth:`graph.records.FlatLayout.values`): the
        same application :meth:`application` makes of ``from_flat(row)``."""
        return application_of(self.flat_fields(values))

    def flat_fields(self, values: dict[str, Any]) -> ApplicationFields:
        """:meth:`flat_application` as plain values (:func:`application_of` makes the
        application of them): what loader workers send, pickled without a Python call.

        ``values`` holds validated values by flat column; a column that is absent or
        None is missing.
        """
        get = values.get
        submitted = values["submitted_at"]
        created = get("applicant.account_created_at")
        # Times first: converting one at the ends of the calendar raises as the nested
        # record's validator would, before any identifier is looked at.
        ts = submitted.timestamp() if submitted.tzinfo is not None and 1 < submitted.year < 9999 else None
        if ts is None:
            ts = submitted_ts(submitted)
        created_ts = None if created is None else submitted_ts(created)
        # Identifiers in a fixed order (device, phone, email, employer, address, ip,
        # bank account): the first bad one names the row's error.
        s_national_id, s_device, s_phone, s_email, s_employer, s_address, s_ip, s_bank = self._memos
        fresh = self._fresh
        national_id = values["applicant.national_id"]
        applicant = s_national_id.get(national_id) or fresh("national_id", national_id)
        idents: list[tuple[str, str, str]] = []
        raw = get("device.fingerprint")
        if raw:
            idents.append(s_device.get(raw) or fresh("device", raw))
        raw = get("phone")
        if raw:
            idents.append(s_phone.get(raw) or fresh("phone", raw))
        raw = get("email")
        if raw:
            idents.append(s_email.get(raw) or fresh("email", raw))
        raw = get("employer.name")
        if raw is not None:
            idents.append(s_employer.get(raw) or fresh("employer", raw))
        raw = get("address.line")
        if raw:
            raw = " | ".join(
                (raw, get("address.city") or "", get("address.postal_code") or "", get("address.country") or "")
            )
            idents.append(s_address.get(raw) or fresh("address", raw))
        raw = get("device.ip")
        if raw:
            idents.append(s_ip.get(raw) or fresh("ip", raw))
        raw = get("bank_account.number")
        if raw is not None:
            idents.append(s_bank.get(raw) or fresh("bank_account", raw))
        product, channel, device_os = get("product"), get("channel"), get("device.os")
        return (
            values["application_id"],
            ts,
            applicant[1],
            applicant[2],
            tuple(idents),
            created_ts,
            get("amount"),
            get("income"),
            product.casefold() if product else None,
            channel.casefold() if channel else None,
            device_os.casefold() if device_os else None,
            get("device.geo.lat"),
            get("device.geo.lon"),
            get("behaviour.form_fill_seconds"),
            get("behaviour.field_edits"),
            get("behaviour.paste_events"),
            get("behaviour.session_seconds"),
        )


def application_of(fields: ApplicationFields) -> NormalisedApplication:
    """The application of :meth:`Normaliser.flat_fields` values."""
    app = NormalisedApplication(*fields)
    triples: Any = app.identifiers  # they came as (kind, key, display)
    app.identifiers = tuple(starmap(Identifier, triples))
    return app


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
        application_id,
        ts,
        applicant_key,
        applicant_display,
        idents,
        **known,  # type: ignore[arg-type]
    )
