"""The audit log, the caller's identity and what the store holds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.settings import Role
from graph.store import AuditEvent


class AuditEventView(BaseModel):
    seq: int
    at: float
    actor: str = Field(description="role:key-id (a keyed hash of the API key, never key material) or a process")
    action: str
    subject: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventView:
        return cls(seq=e.seq, at=e.at, actor=e.actor, action=e.action, subject=e.subject, detail=e.detail)


class WhoAmI(BaseModel):
    actor: str = Field(description="role:key-id, as the audit log names this caller")
    role: Role


class StoreStats(BaseModel):
    store: str
    counts: dict[str, int]
    model_version: str
