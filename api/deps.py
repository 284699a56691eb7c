"""Reusable request dependencies: the desk, the settings and the caller's role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from api.service.desk import FraudDesk
from api.settings import Role, Settings, get_settings

ROLE_GRANTS: dict[str, frozenset[str]] = {
    "scorer": frozenset({"scorer"}),
    "investigator": frozenset({"scorer", "investigator"}),
    "admin": frozenset({"scorer", "investigator", "admin"}),
}


async def get_desk(request: Request) -> FraudDesk:
    desk: FraudDesk = request.app.state.desk
    return desk


async def app_settings(request: Request) -> Settings:
    """The settings the running app was created with (falls back to the environment)."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()


Desk = Annotated[FraudDesk, Depends(get_desk)]
SettingsDep = Annotated[Settings, Depends(app_settings)]


def require(role: Role) -> Callable[..., Awaitable[str]]:
    """A dependency that admits callers whose API key grants ``role``; returns the actor.

    Dependencies are ``async`` because they only read memory: FastAPI runs a plain ``def``
    dependency in the thread pool, a hop that cost more than the check itself.
    """

    async def check(
        settings: SettingsDep,
        x_api_key: Annotated[str | None, Header(description="API key")] = None,
    ) -> str:
        if not x_api_key:
            raise HTTPException(401, "missing X-API-Key header", headers={"WWW-Authenticate": "ApiKey"})
        granted = settings.api_keys.get(x_api_key)
        if granted is None:
            raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "ApiKey"})
        if role not in ROLE_GRANTS[granted]:
            raise HTTPException(403, f"the {granted} role cannot do this")
        return f"{granted}:{x_api_key[-4:]}"

    return check


Scorer = Annotated[str, Depends(require("scorer"))]
Investigator = Annotated[str, Depends(require("investigator"))]
Admin = Annotated[str, Depends(require("admin"))]
