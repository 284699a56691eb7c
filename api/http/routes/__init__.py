"""The versioned JSON API under /v1, one module per resource. Each handler validates,
calls one desk operation and shapes the answer; it never writes an audit event or applies
a policy itself. Errors are mapped in ``api/http/errors.py``."""

from fastapi import APIRouter

from api.http.routes import admin, alerts, applicants, cases, labels, nodes, outcomes, overview, rings, scoring

router = APIRouter(prefix="/v1")
for module in (scoring, applicants, nodes, labels, outcomes, alerts, cases, rings, overview, admin):
    router.include_router(module.router)
