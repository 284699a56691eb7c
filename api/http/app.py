"""The FastAPI application: wiring, health, readiness, metrics, the console and the API
docs (Swagger UI served from ``api/console/vendor/``, so ``/docs`` works with no network)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.bootstrap import build_desk
from api.http import errors
from api.http.body_limit import BodySizeLimit
from api.http.deps import require
from api.http.routes import router
from api.http.schemas.ops import Health, Readiness
from api.http.schemas.problems import Problem
from api.service.monitoring_worker import MonitoringWorker
from api.service.periodic import Periodic
from api.settings import Settings, get_settings
from graph.errors import StoreUnavailable
from graph.records import ApplicationRecord
from graph.store import GraphStore

log = logging.getLogger("ringsight")
CONSOLE = Path(__file__).parent.parent / "console"
SWAGGER_UI = "/console/static/vendor/swagger-ui"
"""swagger-ui-dist from npm, vendored (see api/console/vendor/swagger-ui/README.md)."""


def _components() -> dict[str, dict[str, Any]]:
    """Schemas the routes refer to by name without a model of their own: the Problem of
    every error response (``api.http.errors.problem_responses``) and the application record the
    scoring routes read themselves (``api.http.routes.scoring.RECORD_BODY``)."""
    out: dict[str, dict[str, Any]] = {}
    for model in (Problem, ApplicationRecord):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def _document(app: FastAPI) -> None:
    """Serve an OpenAPI schema with the components the routes refer to by name (the Problem
    of every error response, the named enums)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(_components())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.desk = build_desk(settings, store)
        desk = app.state.desk
        run_worker = settings.monitoring and settings.monitoring_worker
        app.state.monitoring = MonitoringWorker(desk.store, desk.follow_ups()) if run_worker else None
        if app.state.monitoring is not None:
            desk.work_queued = app.state.monitoring.wake  # a write queued work: look now, not at the next poll
        sealing = (
            Periodic("audit-seal", settings.audit_seal_seconds, app.state.desk.seal)
            if settings.audit_seal_seconds
            else None
        )
        log.info(
            "ringsight ready on %s (model %s)", settings.graph_url.split("@")[-1], app.state.desk.scorer.model.version
        )
        yield
        if app.state.monitoring is not None:
            app.state.monitoring.stop()
        if sealing is not None:
            sealing.stop()
        if store is None:
            app.state.desk.store.close()

    app = FastAPI(
        title="ringsight",
        version="0.1.0",
        summary="Fraud scores with reasons from a graph of applicants and the identifiers they share.",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets, not a CDN
        redoc_url=None,  # ReDoc has no local assets here; /docs is the documentation
    )
    app.state.settings = settings
    # Outside routing, authentication and parsing: a body too large is refused before any of them.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    _document(app)
    app.include_router(router)

    @app.get("/healthz", tags=["ops"], operation_id="getHealth", summary="The process is alive")
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        tags=["ops"],
        operation_id="getReadiness",
        summary="The store answers",
        response_model=Readiness,
        responses=errors.problem_responses(503),
    )
    async def readyz() -> Readiness | JSONResponse:
        store = app.state.desk.store
        try:
            if store.waits_on_network:
                await run_in_threadpool(store.ping)
            else:
                store.ping()
        except StoreUnavailable as exc:
            return errors.problem(503, "Store unavailable", str(exc))
        return Readiness(status="ready", model_version=app.state.desk.scorer.model.version, problems=store.problems())

    access = settings.metrics_access
    if access != "off":
        # "off": no route at all (404); "admin": an admin API key, like the audit log.
        guard = [Depends(require("admin"))] if access == "admin" else []
        statuses = (401, 403) if access == "admin" else ()

        @app.get(
            "/metrics",
            tags=["ops"],
            operation_id="getMetrics",
            summary="Prometheus metrics",
            dependencies=guard,
            response_class=Response,
            responses={
                200: {
                    "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                    "description": "Prometheus text exposition format",
                },
                **errors.problem_responses(*statuses),
            },
        )
        def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.mount("/console/static", StaticFiles(directory=CONSOLE), name="console")

    @app.get("/console", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(CONSOLE / "index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url="data:,",
            # No call to the online validator: the docs load nothing from outside.
            swagger_ui_parameters={"validatorUrl": None},
        )

    return app
