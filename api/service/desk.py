"""The fraud desk: every domain operation the HTTP routes and the CLI call, one
concern per module (assessment, labels, alerts, monitoring, cases, investigation,
reach, the overview, ring runs, the audit log's seals). Routes and commands never
write an audit event, apply a policy or reach into a store themselves."""

from __future__ import annotations

from api.service.assessment import Assessing, Assessment, decision_of
from api.service.audit_integrity import AuditIntegrity
from api.service.cases import Casework
from api.service.investigation import Investigating
from api.service.monitoring import ALERT_TIERS
from api.service.outcomes import OutcomeRecording
from api.service.overview import Overseeing
from api.service.reach import Reaching
from api.service.ring_runs import RingRuns


class FraudDesk(Assessing, Casework, OutcomeRecording, Investigating, Reaching, Overseeing, RingRuns, AuditIntegrity):
    """Assessment, labels, alerts, monitoring, cases, investigation, reach, the overview and
    ring runs over one store."""


__all__ = ["ALERT_TIERS", "Assessment", "FraudDesk", "decision_of"]
