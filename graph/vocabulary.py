"""The words of the graph, defined once: identifier kinds, relationship types,
Neo4j labels, label statuses, node ids and the hub limit.

Every other module imports these; none repeats them. Node ids are ``kind:key``
strings: ``applicant:<hash>``, ``application:<application id>``,
``device:<hash>``, ``phone:<hash>`` ...

>>> node_kind(applicant_node("ab12"))
'applicant'
>>> RELATIONSHIP_OF_KIND["device"], LABEL_OF_KIND["device"]
('USED_DEVICE', 'Device')
"""

from __future__ import annotations

from typing import Literal

IDENTIFIER_KINDS: tuple[str, ...] = (
    "device",
    "phone",
    "email",
    "employer",
    "address",
    "ip",
    "bank_account",
)
"""Identifier kinds, in the order they are read from a record."""

RELATIONSHIP_OF_KIND: dict[str, str] = {
    "device": "USED_DEVICE",
    "phone": "GAVE_PHONE",
    "email": "GAVE_EMAIL",
    "employer": "GAVE_EMPLOYER",
    "address": "GAVE_ADDRESS",
    "ip": "USED_IP",
    "bank_account": "GAVE_BANK_ACCOUNT",
}
"""(Application)-[type]->(identifier) relationship type of each kind."""

LABEL_OF_KIND: dict[str, str] = {
    "device": "Device",
    "phone": "Phone",
    "email": "Email",
    "employer": "Employer",
    "address": "Address",
    "ip": "IP",
    "bank_account": "BankAccount",
}
"""Neo4j node label of each identifier kind."""

KIND_OF_LABEL: dict[str, str] = {label: kind for kind, label in LABEL_OF_KIND.items()}
KIND_OF_RELATIONSHIP: dict[str, str] = {rel: kind for kind, rel in RELATIONSHIP_OF_KIND.items()}
KIND_CODE: dict[str, int] = {kind: n for n, kind in enumerate(IDENTIFIER_KINDS)}
"""A small integer per kind (the embedded index stores kinds as bytes)."""

LabelStatus = Literal["confirmed_fraud", "cleared", "allow_listed"]
LABEL_STATUSES: tuple[str, ...] = ("confirmed_fraud", "cleared", "allow_listed")
CONFIRMED_FRAUD = "confirmed_fraud"
BLOCKING_STATUSES: frozenset[str] = frozenset({"allow_listed", "cleared"})
"""Labels that stop a walk and take an identifier out of rings (kiosks, cleared households)."""

AlertStatus = Literal["open", "acknowledged", "in_case", "resolved"]
ALERT_STATUSES: tuple[str, ...] = ("open", "acknowledged", "in_case", "resolved")
"""An alert's life, in order; only ``resolved`` ends it."""

CaseStatus = Literal["open", "recommended", "decided", "appealed", "closed"]
CASE_STATUSES: tuple[str, ...] = ("open", "recommended", "decided", "appealed", "closed")
CaseLayer = Literal["analyst", "senior", "committee"]
CASE_LAYERS: tuple[str, ...] = ("analyst", "senior", "committee")
"""Review layers, lowest first: a layer may decide whatever a lower one may."""

HUB_LIMIT = 30
"""Identifiers used by more applicants than this are hubs: counted, never expanded,
by scoring, investigation views and ring runs alike (the config file may lower it)."""

DAY = 86400.0
USAGE_WINDOW = 30 * DAY
"""How far back a scoring snapshot lists the individual uses of an identifier."""
HOUR = 3600.0


def applicant_node(key: str) -> str:
    return f"applicant:{key}"


def application_node(application_id: str) -> str:
    return f"application:{application_id}"


def node_kind(node_id: str) -> str:
    return node_id.split(":", 1)[0]


def node_key(node_id: str) -> str:
    return node_id.split(":", 1)[1] if ":" in node_id else node_id
