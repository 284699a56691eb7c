"""The FastAPI application: wiring, health, readiness, metrics and the console."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import errors
from api.bootstrap import build_desk
from api.routes import router
from api.service.monitoring_worker import MonitoringWorker
from api.settings import Settings, get_settings
from graph.errors import StoreUnavailable
from graph.store import GraphStore

log = logging.getLogger("ringsight")
CONSOLE = Path(__file__).parent / "console"


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.desk = build_desk(settings, store)
        app.state.monitoring = MonitoringWorker(app.state.desk.on_new_application) if settings.monitoring else None
        log.info("ringsight ready on %s (model %s)", settings.graph_url.split("@")[-1],
                 app.state.desk.scorer.model.version)
        yield
        if app.state.monitoring is not None:
            app.state.monitoring.stop()
        if store is None:
            app.state.desk.store.close()

    app = FastAPI(
        title="ringsight",
        version="0.1.0",
        summary="Fraud scores with reasons from a graph of applicants and the identifiers they share.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.include_router(router)

    @app.get("/healthz", tags=["ops"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="The store answers")
    async def readyz() -> JSONResponse:
        store = app.state.desk.store
        try:
            if store.waits_on_network:
                await run_in_threadpool(store.ping)
            else:
                store.ping()
        except StoreUnavailable as exc:
            return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "model_version": app.state.desk.scorer.model.version})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.mount("/console/static", StaticFiles(directory=CONSOLE), name="console")

    @app.get("/console", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(CONSOLE / "index.html")

    return app
