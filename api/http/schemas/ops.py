"""What the service says about itself: alive, and ready (the store answers)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    model_version: str
    problems: list[str] = Field(
        default_factory=list,
        description="What is wrong with the stored data though the store serves, e.g. duplicate nodes that block a "
        "uniqueness rule (named)",
    )
