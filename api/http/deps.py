"""Reusable request dependencies: the desk, the settings and the caller's role."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from api.service.desk import FraudDesk
from api.settings import Role, Settings, get_settings

ROLE_GRANTS: dict[str, frozenset[str]] = {
    "scorer": frozenset({"scorer"}),
    "investigator": frozenset({"scorer", "investigator"}),
    "senior": frozenset({"scorer", "investigator", "senior"}),
    "committee": frozenset({"scorer", "investigator", "senior", "committee"}),
    "admin": frozenset({"scorer", "investigator", "admin"}),
}
"""What each role may do. Senior reviewers and the committee are investigators too; which
case outcomes each layer may decide is the review policy's (api/service/review_policy.py)."""


API_KEY = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    auto_error=False,
    description="An API key of RINGSIGHT_API_KEYS; its role (scorer, investigator, senior, committee, admin) "
    "decides what it may do",
)


@lru_cache(maxsize=1024)
def _key_id(secret: str, api_key: str) -> str:
    return hmac.new(secret.encode(), b"api-key:" + api_key.encode(), hashlib.sha256).hexdigest()[:12]


def key_id(settings: Settings, api_key: str) -> str:
    """A short, stable name for an API key that reveals nothing of it: a keyed hash under
    the deployment's PII key, so even a short key cannot be recovered from the audit log.
    ``GET /v1/whoami`` tells a caller its own."""
    return _key_id(settings.pii_key.get_secret_value(), api_key)


def actor_of(settings: Settings, role: str, api_key: str) -> str:
    """How the audit log names a caller: ``role:key-id``."""
    return f"{role}:{key_id(settings, api_key)}"


async def get_desk(request: Request) -> FraudDesk:
    desk: FraudDesk = request.app.state.desk
    return desk


async def app_settings(request: Request) -> Settings:
    """The settings the running app was created with (falls back to the environment)."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()


Desk = Annotated[FraudDesk, Depends(get_desk)]
SettingsDep = Annotated[Settings, Depends(app_settings)]


def authorise(settings: Settings, api_key: str | None, role: Role) -> str:
    """The actor of a caller whose API key grants ``role``; 401 or 403 otherwise."""
    if not api_key:
        raise HTTPException(401, "missing X-API-Key header", headers={"WWW-Authenticate": "ApiKey"})
    granted = settings.api_keys.get(api_key)
    if granted is None:
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "ApiKey"})
    if role not in ROLE_GRANTS[granted]:
        raise HTTPException(403, f"the {granted} role cannot do this")
    return actor_of(settings, granted, api_key)


def require(role: Role) -> Callable[..., Awaitable[str]]:
    """A dependency that admits callers whose API key grants ``role``; returns the actor.

    Dependencies are ``async`` because they only read memory: FastAPI runs a plain ``def``
    dependency in the thread pool, a hop that cost more than the check itself.
    """

    async def check(settings: SettingsDep, x_api_key: Annotated[str | None, Security(API_KEY)]) -> str:
        return authorise(settings, x_api_key, role)

    return check


Scorer = Annotated[str, Depends(require("scorer"))]
Investigator = Annotated[str, Depends(require("investigator"))]
Admin = Annotated[str, Depends(require("admin"))]
