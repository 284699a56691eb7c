"""Tamper evidence for the audit log: sealing and verification (see
:mod:`graph.store.audit_seals` for what a seal is).

- ``seal()`` covers the settled events after the last seal with a new seal: the running
  SHA-256 chain over every event so far and a MAC under a key derived from the
  deployment's PII key (the database never holds it). Any number of processes may seal
  at once: one wins each seal number, the others find it taken and stop.
- ``verify()`` recomputes the chain from the first event and checks every seal's count,
  chain and MAC: an event changed, deleted or inserted in a sealed range, or a seal
  rewritten, is reported with the seal it breaks. Events after the last seal are counted
  (they are sealed on the next round), not judged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from api.service.base import DeskBase
from graph.errors import Conflict
from graph.store import AuditEvent
from graph.store.records import AuditSeal

PAGE = 5000
GENESIS = "0" * 64


def canonical(event: AuditEvent) -> bytes:
    """The bytes of an event the chain covers (every field, keys sorted)."""
    e = event
    return json.dumps(
        [e.seq, e.at, e.actor, e.action, e.subject, e.detail], sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def link(chain: str, event: AuditEvent) -> str:
    return hashlib.sha256(bytes.fromhex(chain) + canonical(event)).hexdigest()


@dataclass
class Verification:
    seals: int = 0
    sealed_events: int = 0
    unsealed_events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


class AuditIntegrity(DeskBase):
    def _seal_key(self) -> bytes:
        # A keyed hash of a constant under the PII key: never stored, and only a process
        # holding the deployment's secret can compute it.
        return self.normaliser.hash("audit_seal", "ringsight audit seal key").encode()

    def _mac(self, n: int, upto: int, count: int, chain: str, previous: str) -> str:
        message = f"{n}|{upto}|{count}|{chain}|{previous}".encode()
        return hmac.new(self._seal_key(), message, hashlib.sha256).hexdigest()

    def _chain(self, after: int, upto: int, chain: str) -> tuple[int, int, str]:
        """Run the chain from ``chain`` over the events with ``after < seq <= upto``, page by
        page: (how many, the last one's seq or ``after``, the chain after them)."""
        count, last = 0, after
        while True:
            page = self.store.audit_after(last, upto, PAGE)
            for event in page:
                chain = link(chain, event)
            count += len(page)
            if page:
                last = page[-1].seq
            if len(page) < PAGE:
                return count, last, chain

    def seal(self) -> AuditSeal | None:
        """Seal the settled events after the last seal; None when there are none (or
        another process sealed them first)."""
        seals = self.store.audit_seals()
        last = seals[-1] if seals else None
        after, chain = (last.upto, last.chain) if last else (0, GENESIS)
        count, upto, chain = self._chain(after, self.store.audit_settled(), chain)
        if count == 0:
            return None
        n = last.n + 1 if last else 1
        seal = AuditSeal(n, upto, count, chain, self._mac(n, upto, count, chain, last.mac if last else ""), self.now())
        try:
            self.store.add_audit_seal(seal)
        except Conflict:
            return None
        return seal

    def verify(self) -> Verification:
        """Recompute the chain over every sealed event and check each seal."""
        out = Verification()
        chain, after, previous_mac = GENESIS, 0, ""
        for seal in self.store.audit_seals():
            out.seals += 1
            count, _, chain = self._chain(after, seal.upto, chain)
            out.sealed_events += count
            if count != seal.count:
                out.problems.append(
                    f"seal {seal.n}: {count} events where it sealed {seal.count} (events deleted or inserted)"
                )
            elif chain != seal.chain:
                out.problems.append(f"seal {seal.n}: the events after seq {after} were changed")
            if seal.mac != self._mac(seal.n, seal.upto, seal.count, seal.chain, previous_mac):
                out.problems.append(f"seal {seal.n}: its MAC does not match (the seal was rewritten, or another key)")
            chain, after, previous_mac = seal.chain, seal.upto, seal.mac
        out.unsealed_events = self._chain(after, 2**63 - 1, chain)[0]
        return out
