"""Domain errors to HTTP problems (RFC 9457), in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from graph.errors import Conflict, InvalidInput, ModelError, NotFound, RingsightError, StoreUnavailable

STATUS: dict[type[RingsightError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    StoreUnavailable: 503,
    ModelError: 500,
}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://ringsight.dev/problems/{title.lower().replace(' ', '-')}",
            "title": title, "status": status, "detail": detail, **extra}
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header") and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return problem(422, "Invalid input", f"{first['field']}: {first['message']}",
                       field=first["field"], errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}
        response = problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RingsightError)
    async def _domain(_: Request, exc: RingsightError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
        extra: dict[str, Any] = {}
        if isinstance(exc, InvalidInput):
            extra = {"field": exc.field, "errors": [{"field": exc.field, "message": exc.message}]}
        title = {422: "Invalid input", 404: "Not found", 409: "Conflict", 503: "Store unavailable"}.get(
            status, "Server error")
        return problem(status, title, str(exc), **extra)
