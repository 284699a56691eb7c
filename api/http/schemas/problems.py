"""The body of every error response: RFC 9457 problem details (see ``api/http/errors.py``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the failing body field, or the name of the failing parameter")
    message: str


class Problem(BaseModel):
    """An error as RFC 9457 problem details, served as ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong, for a person")
    field: str | None = Field(None, description="The first failing field or parameter (422)")
    errors: list[FieldProblem] | None = Field(None, description="Every failing field or parameter (422)")
    rule: str | None = Field(None, description="The desk rule that forbids the step (403), e.g. four_eyes")
