"""Canonical forms of the identifiers that take parsing: phone numbers (E.164, with
``phonenumbers``), e-mail addresses (``email-validator``, lower-cased) and IP addresses,
each with its masked display. No key is involved.

Two callers ask the same question of a value: the record's input rules
(:mod:`graph.records`), so that a bad phone is reported with every other failing
field of the application, and the normaliser (:mod:`graph.normalise`), which hashes
what these functions give. One function answers both, so a value the record accepts
is one the normaliser can hash. Each answer is memoised by the raw value (bounded), so
the second caller pays a lookup; the common spellings take a fast path (a mainland
mobile, a plain ASCII address, a dotted quad: one regular expression each) and the
parsers behind the others are memoised longer.

>>> phone("+86 138 0013 8000", "CN")
('+8613800138000', '+86*******8000')
>>> email(" Li.Wei@Example.COM ")
('li.wei@example.com', 'l***@example.com')
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from graph.errors import InvalidInput

_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}", re.ASCII)
# Mainland mobile numbers as lenders send them (11 digits, +86 or 0086 or nothing
# before, groups of 3-4-4 apart by one space or hyphen or not at all). For these,
# phonenumbers always answers +86 and the digits (tests/test_loading_equivalence.py
# checks every string this pattern matches against it), except national 179...
# numbers, which it reads as a carrier prefix: those take the parser.
_CN_MOBILE = re.compile(r"(\+86 ?|0086 ?)?(1[3-9][0-9])([ \-]?)([0-9]{4})\3([0-9]{4})")
_MEMO = 4_096
# Answers by raw value, per region for phones: the record's check asks first, the normaliser
# asks again for the same value. Cleared when full (values repeat close together).
_RECENT = 4_096
_phones: dict[str, dict[str, tuple[str, str]]] = {}
_emails: dict[str, tuple[str, str]] = {}
_ips: dict[str, tuple[str, str]] = {}


def mask_middle(text: str, keep_start: int, keep_end: int) -> str:
    """``text`` with all but its first ``keep_start`` and last ``keep_end`` characters starred."""
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    hidden = len(text) - keep_start - keep_end
    return text[:keep_start] + "*" * hidden + (text[-keep_end:] if keep_end else "")


def phone(raw: str, region: str) -> tuple[str, str]:
    """E.164 form and masked display of a phone number; ``region`` reads numbers written
    without a country code. Raises :class:`InvalidInput` on ``phone``."""
    seen = _phones.get(region)
    if seen is None:
        seen = _phones[region] = {}
    found = seen.get(raw)
    if found is not None:
        return found
    found = None
    if region == "CN":
        mobile = _CN_MOBILE.fullmatch(raw)
        if mobile is not None and (mobile[1] or mobile[2] != "179"):
            found = f"+86{mobile[2]}{mobile[4]}{mobile[5]}", f"+86*******{mobile[5]}"
    if found is None:
        found = _parsed_phone(raw, region)
    return _remember(seen, raw, found)


def _remember(seen: dict[str, tuple[str, str]], raw: str, found: tuple[str, str]) -> tuple[str, str]:
    if len(seen) >= _RECENT:
        seen.clear()
    seen[raw] = found
    return found


@lru_cache(maxsize=_MEMO)
def _parsed_phone(raw: str, region: str) -> tuple[str, str]:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone", f"not a phone number ({exc})") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput("phone", "not a possible phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    prefix = f"+{number.country_code}"
    return e164, prefix + mask_middle(e164[len(prefix) :], 0, 4)


def email(raw: str) -> tuple[str, str]:
    """Lower-cased address and masked display. Raises :class:`InvalidInput` on ``email``."""
    found = _emails.get(raw)
    if found is not None:
        return found
    text = raw.strip()
    if _PLAIN_EMAIL.fullmatch(text):
        # Plain ASCII addresses: email-validator would only lower-case the domain;
        # skipping its IDNA machinery makes bulk loads several times faster.
        canonical = text.casefold()
        local, _, domain = canonical.partition("@")
        return _remember(_emails, raw, (canonical, f"{local[:1]}***@{domain}"))
    return _remember(_emails, raw, _validated_email(raw))


@lru_cache(maxsize=_MEMO)
def _validated_email(raw: str) -> tuple[str, str]:
    try:
        parsed = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput("email", str(exc)) from exc
    canonical = parsed.normalized.casefold()
    local, _, domain = canonical.partition("@")
    return canonical, f"{local[:1]}***@{domain}"


def ip(raw: str) -> tuple[str, str]:
    """Compressed address and display without its last part. Raises :class:`InvalidInput`
    on ``device.ip``."""
    found = _ips.get(raw)
    if found is not None:
        return found
    text = raw.strip()
    if _PLAIN_IPV4.fullmatch(text):
        # A dotted quad without leading zeros is already canonical (ipaddress agrees;
        # see the property test); the parser costs more than the rest of the row.
        return _remember(_ips, raw, (text, text.rsplit(".", 1)[0] + ".*"))
    return _remember(_ips, raw, _parsed_ip(text))


@lru_cache(maxsize=_MEMO)
def _parsed_ip(text: str) -> tuple[str, str]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise InvalidInput("device.ip", "not an IP address") from exc
    text = address.compressed
    if address.version == 4:
        return text, text.rsplit(".", 1)[0] + ".*"
    return text, text.rsplit(":", 2)[0] + ":*"
