"""Every setting of ringsight, in one pydantic-settings class.

Settings come from the environment (``RINGSIGHT_`` prefix) or a ``.env`` file.
Read them through :func:`get_settings`, which is cached; tests clear the cache
to override.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.records import InputRules

DEV_PII_KEY = "ringsight-development-key-change-me"
Role = Literal["scorer", "investigator", "senior", "committee", "admin"]
MetricsAccess = Literal["off", "open", "admin"]
DEV_API_KEYS: dict[str, Role] = {
    "dev-scorer": "scorer",
    "dev-investigator": "investigator",
    "dev-senior": "senior",
    "dev-committee": "committee",
    "dev-admin": "admin",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RINGSIGHT_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    graph_url: str = "sqlite:///ringsight.db"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"
    neo4j_pool_size: int = Field(50, ge=1)
    neo4j_timeout_seconds: float = Field(5.0, gt=0)
    pii_key: SecretStr = SecretStr(DEV_PII_KEY)
    phone_region: str = "CN"
    api_keys: dict[str, Role] = Field(default_factory=lambda: dict[str, Role](DEV_API_KEYS))
    store_outage_policy: Literal["fail_closed", "fail_open"] = "fail_closed"
    model_path: str | None = None
    config_path: str | None = None
    monitoring: bool = True
    monitoring_worker: bool = Field(
        True,
        description="Drain the monitoring queue in this process; false for API processes when a separate "
        "`ringsight work` process drains it",
    )
    case_outcome_layers: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object: case outcome -> the lowest layer (analyst, senior, committee) that may decide "
        "it; unnamed outcomes keep their defaults (see api/service/review_policy.py)",
    )
    audit_seal_seconds: float = Field(
        60.0, ge=0, description="How often the service seals the audit log (0: never; `ringsight audit seal` does)"
    )
    case_committee_limit_share: float = Field(
        0.5, gt=0, le=1, description="A limit cut above this share of the limit is decided by the committee"
    )
    fraud_outcomes: list[str] = Field(
        default_factory=lambda: ["first_payment_default", "fraud_confirmed"],
        description="JSON list: the loan outcomes that count as fraud (label the applicant confirmed fraud and train "
        "as positives); the others (charged_off, chargeback) are credit or payment losses, left out of training",
    )
    model_refresh_seconds: float = Field(
        2.0, ge=0, description="How often the service re-reads the model registry (a promotion is served after this)"
    )
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted (413 above it)")
    max_past_days: float = Field(
        InputRules().max_past_days,
        gt=0,
        le=365_250,
        description="Oldest submitted_at / account_created_at accepted, in days before now (422 beyond)",
    )
    max_future_seconds: float = Field(
        InputRules().max_future_seconds,
        ge=0,
        le=31_622_400,
        description="Clock skew allowed: times up to this many seconds after now are accepted",
    )
    metrics: MetricsAccess | None = Field(
        None,
        description="/metrics: off (404), open, or admin (an admin API key); unset: open in development, "
        "admin in production",
    )

    @field_validator("api_keys", "case_outcome_layers", "fraud_outcomes", mode="before")
    @classmethod
    def _keys_from_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            if self.pii_key.get_secret_value() == DEV_PII_KEY:
                raise ValueError("RINGSIGHT_PII_KEY must be set to a secret in production")
            if set(self.api_keys) & set(DEV_API_KEYS):
                raise ValueError("RINGSIGHT_API_KEYS must not contain the development keys in production")
        if len(self.pii_key.get_secret_value()) < 16:
            raise ValueError("RINGSIGHT_PII_KEY must be at least 16 characters")
        return self

    @property
    def metrics_access(self) -> MetricsAccess:
        """Who may read ``/metrics``: the setting, or by environment when it is unset (a
        development machine is scraped by anyone, a production one only with an admin key)."""
        if self.metrics is not None:
            return self.metrics
        return "admin" if self.environment == "production" else "open"

    def input_rules(self) -> InputRules:
        """The record's configurable input rules (graph/records.py)."""
        return InputRules(self.max_past_days, self.max_future_seconds, self.phone_region)

    def neo4j_options(self) -> dict[str, object]:
        return {
            "user": self.neo4j_user,
            "password": self.neo4j_password.get_secret_value(),
            "database": self.neo4j_database,
            "pool_size": self.neo4j_pool_size,
            "timeout": self.neo4j_timeout_seconds,
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()
