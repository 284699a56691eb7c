"""What the bodies of more than one resource share: the vocabularies as named schema enums
(one enum per vocabulary in a generated client, not one per field) and the rule for a reason
a person writes."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from graph.vocabulary import AlertStatus as _AlertStatus
from graph.vocabulary import CaseLayer as _CaseLayer
from graph.vocabulary import CaseStatus as _CaseStatus
from graph.vocabulary import LabelStatus as _LabelStatus


class NamedEnum:
    """Marks a Literal as the named enum ``name`` of the schema (validation stays the
    Literal's), so a generated client has one enum per vocabulary, not one per field."""

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        schema = handler(source)
        return cast(CoreSchema, {**schema, "ref": f"ringsight.{self.name}"})

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        definition = handler.resolve_ref_schema(json_schema)
        definition.update(title=self.name, description=self.description)
        return json_schema


Band = Annotated[Literal["low", "medium", "high", "critical"], NamedEnum("Band", "Risk band of a score")]
Action = Annotated[Literal["approve", "step_up", "review", "decline"], NamedEnum("Action", "Recommended action")]
AlertStatus = Annotated[
    _AlertStatus,
    NamedEnum("AlertStatus", "An alert's life: open -> acknowledged -> in_case -> resolved (every alert starts open)"),
]
CaseStatus = Annotated[
    _CaseStatus,
    NamedEnum("CaseStatus", "open -> recommended -> decided (-> appealed -> decided or closed) -> closed"),
]
CaseLayer = Annotated[_CaseLayer, NamedEnum("CaseLayer", "The review layer a case waits at")]
LabelStatus = Annotated[
    _LabelStatus,
    NamedEnum("LabelStatus", "An investigator label: confirmed fraud, cleared (appeal upheld) or allow-listed"),
]

SOME_TEXT = r"\S"
"""More than white space (a reason someone can read)."""
