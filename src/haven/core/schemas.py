"""Base shapes of request bodies, shared by every module's schemas."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class RequestBody(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PatchBody(RequestBody):
    """A partial update: only the fields sent change; `null` only where a field allows it.

    Every field of a PATCH body is optional so that it can be left out; `nullable` names
    the fields for which an explicit `null` means "clear it". Any other field sent as
    `null` is a 422, before the service (or the database) sees it.
    """

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required_values(self) -> PatchBody:
        for name in sorted(self.model_fields_set):
            if getattr(self, name) is None and name not in self.nullable:
                raise ValueError(f"{name} cannot be null; leave it out to keep it unchanged")
        return self


def _refuse_numbers(value: object) -> object:
    """Dates and instants come as text; lax parsing would read a number as a Unix time."""
    if isinstance(value, int | float):
        raise ValueError("give a date or an RFC 3339 date-time as a string, not a number")
    return value


FromText = BeforeValidator(_refuse_numbers)
"""For dates and instants in request bodies: only the string the OpenAPI schema says.

Numbers and booleans in request bodies are typed StrictInt / StrictBool for the same reason:
FastAPI validates the decoded JSON in Python (lax) mode, which would take "5" or true for 5.
"""


Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="hex colour, #rrggbb")]
