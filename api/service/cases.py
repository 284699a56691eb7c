"""Casework: cases opened from an alert, a decision, a ring or by hand; layered review
(analyst, senior, committee) under four eyes; outcomes that act on the graph; appeals
that re-evaluate with today's graph and, when upheld, undo what the case did.

A case's life::

    open --recommend--> recommended --decide--> decided --appeal--> appealed --decide--> closed (upheld)
      |                     |                      |                    +--decide--> decided (rejected)
      +--decide (analyst outcomes)-----------------+--close--> closed

``assign`` and ``escalate`` keep the status. Every step is written with its audit event
(subject: the case id) in one transaction, onto the version of the case it was decided
on. The rules of who may decide what are :mod:`api.service.review_policy`.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from api.service.assessment import champion_decisions
from api.service.base import applicant_key
from api.service.labels import Labelling
from api.service.review_policy import (
    APPEAL_OUTCOMES,
    CUSTOMER_ACTIONS,
    OUTCOMES,
    ReviewPolicy,
    layer_rank,
)
from graph.errors import Conflict, Forbidden, InvalidInput, NotFound
from graph.store import AuditEntry
from graph.store.records import Case, CaseStep
from graph.vocabulary import CASE_LAYERS, CONFIRMED_FRAUD, applicant_node, node_kind

STEP_ACTIONS: tuple[str, ...] = ("assign", "recommend", "decide", "escalate", "appeal", "close")


def subject_kind(subject: str) -> str:
    """``applicant``, ``ring`` or ``identifier``."""
    if subject.startswith("RING-"):
        return "ring"
    return "applicant" if node_kind(subject) == "applicant" else "identifier"


def _pending_recommendation(case: Case) -> CaseStep | None:
    """The latest recommendation not yet decided."""
    for step in reversed(case.steps):
        if step.action == "decide":
            return None
        if step.action == "recommend":
            return step
    return None


def _last(case: Case, action: str) -> CaseStep | None:
    return next((s for s in reversed(case.steps) if s.action == action), None)


class Casework(Labelling):
    review: ReviewPolicy = ReviewPolicy()

    # -- opening ----------------------------------------------------------------------------------
    def open_case(self, subject: str | None, reason: str, actor: str, alert_id: str | None = None) -> Case:
        """Open a case on an applicant, an identifier, an application's decision or a ring
        (or on the applicant of ``alert_id``), with its evidence frozen now."""
        if not reason.strip():
            raise InvalidInput("reason", "a reason is required")
        source = "manual"
        evidence: dict[str, Any] = {}
        if alert_id is not None:
            alert, _ = self.alert_file(alert_id)
            if alert.status == "resolved":
                raise Conflict(f"alert {alert_id} is resolved")
            if alert.case_id is not None:
                raise Conflict(f"alert {alert_id} is in case {alert.case_id} already")
            subject = subject or applicant_node(alert.applicant_key)
            source = "alert"
            evidence["alert"] = {
                "alert_id": alert.alert_id,
                "tier": alert.tier,
                "trigger": alert.trigger,
                "score": alert.score,
                "previous_score": alert.previous_score,
                "at": alert.at,
                **alert.detail,
            }
        if not subject:
            raise InvalidInput("subject", "name an applicant, identifier, application or ring (or give alert_id)")
        if node_kind(subject) == "application":
            subject, decision = self._decision_evidence(subject.partition(":")[2])
            source = "decision" if source == "manual" else source
            evidence["decision"] = decision
        kind = subject_kind(subject)
        evidence.update(self._subject_evidence(subject, kind))
        if kind == "applicant" and "decision" not in evidence:
            latest = self._latest_decision(applicant_key(subject))
            if latest is not None:
                evidence["decision"] = latest
        if kind == "ring" and source == "manual":
            source = "ring"
        now = self.now()
        case_id = f"CS-{uuid.uuid4().hex[:12].upper()}"
        step = CaseStep(1, now, actor, "open", None, reason, "open", "analyst", {"source": source})
        case = Case(
            case_id,
            subject,
            source,
            now,
            actor,
            reason,
            evidence,
            "open",
            "analyst",
            None,
            None,
            now,
            1,
            alert_id,
            (step,),
        )
        self.store.open_case(
            case, AuditEntry(now, actor, "case:open", case_id, {"subject": subject, "source": source, "reason": reason})
        )
        if alert_id is not None:
            self.handle_alert(alert_id, "in_case", f"case {case_id} opened", actor, case_id=case_id)
        return case

    def _decision_evidence(self, application_id: str) -> tuple[str, dict[str, Any]]:
        app = self.store.application(application_id)
        if app is None:
            raise NotFound("application", application_id)
        decisions = champion_decisions(self.store.decisions(application_id))
        if not decisions:
            raise InvalidInput("subject", f"application {application_id} has no decision to review")
        d = decisions[-1]
        return applicant_node(app.applicant_key), {
            "application_id": application_id,
            "at": d.at,
            "score": d.score,
            "band": d.band,
            "action": d.action,
            "model_version": d.model_version,
            "reasons": d.reasons,
        }

    def _latest_decision(self, key: str) -> dict[str, Any] | None:
        apps = self.store.applicant_applications(key)
        for app in reversed(apps):
            if self.store.decisions(app.application_id):
                return self._decision_evidence(app.application_id)[1]
        return None

    def _subject_evidence(self, subject: str, kind: str) -> dict[str, Any]:
        if kind == "ring":
            ring = next((r for r in self.store.rings() if r.ring_id == subject), None)
            if ring is None:
                raise NotFound("ring", subject)
            members = [applicant_node(m) for m in ring.members]
            display = self.store.node_display(members + list(ring.identifiers))
            labels = self.store.labels(members)
            return {
                "ring": {
                    "ring_id": ring.ring_id,
                    "run_id": ring.run_id,
                    "score": ring.score,
                    "summary": ring.features.get("summary"),
                    "members": [
                        {
                            "node_id": m,
                            "display": display.get(m, ""),
                            "label": labels[m].status if m in labels else None,
                        }
                        for m in members
                    ],
                    "identifiers": [{"node_id": i, "display": display.get(i, "")} for i in ring.identifiers],
                }
            }
        shown = self.store.node_display([subject]).get(subject)
        if shown is None:
            raise NotFound("node", subject)
        label = self.store.labels([subject]).get(subject)
        about: dict[str, Any] = {"node_id": subject, "display": shown, "label": label.status if label else None}
        if kind == "applicant":
            ring = self.store.ring_of(applicant_key(subject))
            about["ring_id"] = ring.ring_id if ring else None
        return {"subject": about}

    # -- reading ----------------------------------------------------------------------------------
    def case_file(self, case_id: str) -> Case:
        case = self.store.case(case_id)
        if case is None:
            raise NotFound("case", case_id)
        return case

    def cases_by(
        self,
        status: str | None = None,
        layer: str | None = None,
        owner: str | None = None,
        subject: str | None = None,
        limit: int = 100,
    ) -> list[Case]:
        return self.store.cases(status, layer, owner, subject, limit)

    def actions_for(self, case: Case, actor: str) -> list[str]:
        """The step actions ``actor`` may take on ``case`` now (for the console)."""
        return [a for a in STEP_ACTIONS if self._refusal(case, actor, a) is None]

    def outcomes_for(self, case: Case, actor: str) -> list[str]:
        """The outcomes ``actor`` may decide on ``case`` now (for the console)."""
        if "decide" not in self.actions_for(case, actor):
            return []
        layer = self.review.layer_of(actor.split(":", 1)[0]) or "analyst"
        if case.status == "appealed":
            return list(APPEAL_OUTCOMES) if self.review.may(layer, case.layer) else []
        pending = _pending_recommendation(case) is not None
        return [
            o
            for o in OUTCOMES
            if self.review.may(layer, required := self.review.layer_for(o)) and (pending or layer_rank(required) == 0)
        ]

    def subject_displays(self, cases: list[Case]) -> dict[str, str]:
        """Masked displays of the cases' subjects (a ring shows as its id)."""
        nodes = [c.subject for c in cases if subject_kind(c.subject) != "ring"]
        shown = self.store.node_display(nodes) if nodes else {}
        return {c.subject: shown.get(c.subject, c.subject if subject_kind(c.subject) == "ring" else "") for c in cases}

    # -- stepping ---------------------------------------------------------------------------------
    def step(
        self,
        case_id: str,
        action: str,
        outcome: str | None,
        reason: str,
        actor: str,
        limit_share: float | None = None,
        evidence: str | None = None,
    ) -> Case:
        """Take one step on a case (see the module docstring); audited with the case as subject."""
        if action not in STEP_ACTIONS:
            raise InvalidInput("action", f"must be one of {', '.join(STEP_ACTIONS)}")
        if not reason.strip():
            raise InvalidInput("reason", "a reason is required for every step")
        case = self.case_file(case_id)
        refusal = self._refusal(case, actor, action)
        if refusal is not None:
            raise refusal
        now = self.now()
        detail: dict[str, Any] = {}
        status, layer, owner, final = case.status, case.layer, case.owner, case.outcome
        if action == "assign":
            owner = outcome or actor
            outcome = owner
        elif action == "recommend":
            self._check_outcome(outcome, OUTCOMES, limit_share)
            assert outcome is not None
            status = "recommended"
            layer = max(layer, self.review.layer_for(outcome, limit_share), key=layer_rank)
            detail = self._share(outcome, limit_share)
        elif action == "escalate":
            if layer == CASE_LAYERS[-1]:
                raise Conflict("the case is at the committee already")
            layer = CASE_LAYERS[layer_rank(layer) + 1]
            outcome = layer
        elif action == "appeal":
            status = "appealed"
            detail = {"evidence": evidence or "", "reevaluated": self._reevaluate(case, actor)}
            outcome = None
        elif action == "close":
            status = "closed"
            outcome = None
        else:  # decide
            if case.status == "appealed":
                self._check_outcome(outcome, APPEAL_OUTCOMES, None)
                self._check_layer(actor, layer, outcome or "")
                detail = self._decide_appeal(case, outcome == "upheld", actor, reason)
                status = "closed" if outcome == "upheld" else "decided"
                final = "appeal_upheld" if outcome == "upheld" else case.outcome
            else:
                self._check_outcome(outcome, OUTCOMES, limit_share)
                assert outcome is not None
                share = limit_share if limit_share is not None else self._recommended_share(case)
                required = self.review.layer_for(outcome, share)
                self._check_layer(actor, required, outcome)
                if layer_rank(required) > 0 and _pending_recommendation(case) is None:
                    raise Forbidden(
                        "layered_review", f"{outcome} is decided on a recommendation: an analyst recommends it first"
                    )
                detail = {**self._share(outcome, share), **self._act(case, outcome, share, actor, reason)}
                status, final = "decided", outcome
                layer = max(layer, required, key=layer_rank)
        step = CaseStep(case.version + 1, now, actor, action, outcome, reason, status, layer, detail)
        updated = replace(
            case,
            status=status,
            layer=layer,
            owner=owner,
            outcome=final,
            updated_at=now,
            version=case.version + 1,
            steps=(*case.steps, step),
        )
        audit = {"action": action, "outcome": outcome, "reason": reason, "status": status, "layer": layer, **detail}
        self.store.add_case_step(updated, AuditEntry(now, actor, f"case:{action}", case_id, audit))
        if action in ("decide", "close") and case.alert_id is not None and status in ("decided", "closed"):
            self._resolve_case_alert(case.alert_id, case_id, f"case {case_id} {status}: {final or 'closed'}", actor)
        return updated

    def _refusal(self, case: Case, actor: str, action: str) -> Exception | None:
        """Why ``actor`` may not take ``action`` on ``case`` now (None: it may)."""
        role = actor.split(":", 1)[0]
        if self.review.layer_of(role) is None:
            return Forbidden("reviewer_role", f"the {role} role does not review cases")
        allowed = {
            "assign": ("open", "recommended", "decided", "appealed"),
            "recommend": ("open", "recommended"),
            "decide": ("open", "recommended", "appealed"),
            "escalate": ("open", "recommended", "appealed"),
            "appeal": ("decided",),
            "close": ("open", "recommended", "decided"),
        }[action]
        if case.status not in allowed:
            return Conflict(f"a {case.status} case cannot take a {action} step")
        if action == "decide":
            pending = _pending_recommendation(case) if case.status != "appealed" else _last(case, "appeal")
            if pending is not None and pending.actor == actor:
                what = "recommended" if pending.action == "recommend" else "filed the appeal"
                return Forbidden("four_eyes", f"the key that {what} this step cannot decide it")
        return None

    def _check_outcome(self, outcome: str | None, allowed: tuple[str, ...], limit_share: float | None) -> None:
        if outcome not in allowed:
            raise InvalidInput("outcome", f"must be one of {', '.join(allowed)}")
        if limit_share is not None and outcome != "limit_reduce":
            raise InvalidInput("limit_share", "only a limit_reduce outcome takes a limit share")
        if outcome == "limit_reduce" and limit_share is not None and not 0.0 < limit_share <= 1.0:
            raise InvalidInput("limit_share", "a share of the limit in (0, 1]")

    def _check_layer(self, actor: str, required: str, outcome: str) -> None:
        layer = self.review.layer_of(actor.split(":", 1)[0]) or "analyst"
        if not self.review.may(layer, required):
            raise Forbidden("layer", f"{outcome} is decided at the {required} layer; this key reviews at {layer}")

    @staticmethod
    def _share(outcome: str, share: float | None) -> dict[str, Any]:
        return {"limit_share": share} if outcome == "limit_reduce" and share is not None else {}

    @staticmethod
    def _recommended_share(case: Case) -> float | None:
        pending = _pending_recommendation(case)
        share = pending.detail.get("limit_share") if pending is not None else None
        return float(share) if share is not None else None

    # -- effects ----------------------------------------------------------------------------------
    def _people(self, case: Case) -> list[str]:
        """The applicant node ids a case acts on."""
        kind = subject_kind(case.subject)
        if kind == "applicant":
            return [case.subject]
        if kind == "ring":
            return [m["node_id"] for m in case.evidence.get("ring", {}).get("members", [])]
        return []

    def _labelled(self, case: Case) -> list[str]:
        """The nodes a label outcome on ``case`` labels: its subject, or a ring's members."""
        return self._people(case) if subject_kind(case.subject) == "ring" else [case.subject]

    def _act(self, case: Case, outcome: str, share: float | None, actor: str, reason: str) -> dict[str, Any]:
        """Apply a decided outcome; return what it did (kept on the step)."""
        why = f"case {case.case_id}: {reason}"
        done: dict[str, Any] = {}
        if outcome in CUSTOMER_ACTIONS:
            action: dict[str, Any] = {"action": outcome, "applicants": self._people(case)}
            if share is not None:
                action["limit_share"] = share
            done["customer_action"] = action
        status = CONFIRMED_FRAUD if outcome in self.review.fraud_outcomes else "cleared" if outcome == "clear" else None
        if status is not None:
            nodes = self._labelled(case)
            changes = [self.label(n, status, actor, why, quiet=True) for n in nodes]
            done["labels_set"] = {n: status for n in nodes}
            done["linked_rescore"] = changes[0].rescore if changes else "off"
            if alerts := [a.alert_id for change in changes for a in change.alerts]:
                done["alerts_raised"] = alerts
        return done

    def _reevaluate(self, case: Case, actor: str) -> list[dict[str, Any]]:
        """Re-score the people of the case with today's graph."""
        out = []
        for node in self._people(case):
            done = self.rescore(node, actor)
            d = done.decision
            out.append({"applicant_id": node, "score": d.score, "band": d.band, "action": d.action})
        return out

    def _decide_appeal(self, case: Case, upheld: bool, actor: str, reason: str) -> dict[str, Any]:
        """Upheld: clear the labels the case set (their alerts are resolved and the linked
        applicants re-scored by the labelling) and withdraw its customer action."""
        if not upheld:
            return {}
        cleared: list[str] = []
        resolved: list[str] = []
        why = f"appeal upheld in case {case.case_id}: {reason}"
        for step in case.steps:
            for node, status in step.detail.get("labels_set", {}).items():
                if status == CONFIRMED_FRAUD and node not in cleared:
                    current = self.store.labels([node]).get(node)
                    if current is not None and current.status == CONFIRMED_FRAUD:
                        self.label(node, "cleared", actor, why, quiet=True)
                        cleared.append(node)
        for node in self._people(case):
            for alert in self.store.alerts(None, 1000, applicant_key(node)):
                if alert.case_id == case.case_id and alert.status != "resolved":
                    self.handle_alert(alert.alert_id, "resolved", why, actor)
                    resolved.append(alert.alert_id)
        withdrawn = case.outcome if case.outcome in CUSTOMER_ACTIONS else None
        return {"labels_cleared": cleared, "alerts_resolved": resolved, "customer_action_withdrawn": withdrawn}

    def _resolve_case_alert(self, alert_id: str, case_id: str, note: str, actor: str) -> None:
        alert = self.store.alert(alert_id)
        if alert is not None and alert.status != "resolved":
            self.handle_alert(alert_id, "resolved", note, actor)
