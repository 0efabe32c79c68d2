"""The OpenAPI schema as clients should read it.

FastAPI describes an optional parameter typed `X | None` as `anyOf: [X, {type: null}]`. A
query, header or path parameter cannot be null on the wire — it is there or it is not — so
clients and fuzzers that trust the schema send the text "null" (an `If-Match: null`), and
generated client types say `string | null`. For parameters the null branch is dropped: an
optional parameter is simply not required.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

JsonObject = dict[str, Any]


def install_openapi_schema(app: FastAPI) -> None:
    """Serve the app's schema with parameters tidied (`without_null_parameters`)."""
    generate = app.openapi  # FastAPI's own: builds the schema once and keeps it
    tidied: list[JsonObject] = []

    def schema() -> JsonObject:
        document = generate()
        if not tidied or tidied[0] is not document:
            tidied[:] = [without_null_parameters(document)]
        return document

    app.openapi = schema  # type: ignore[method-assign]  # FastAPI's documented override hook


def without_null_parameters(document: JsonObject) -> JsonObject:
    """`document` with the `{type: null}` branch removed from every parameter's schema."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", ()):
                schema = parameter.get("schema")
                if isinstance(schema, dict):
                    parameter["schema"] = _drop_null(schema)
    return document


def _drop_null(schema: JsonObject) -> JsonObject:
    branches = schema.get("anyOf")
    if not isinstance(branches, list):
        return schema
    kept = [branch for branch in branches if branch != {"type": "null"}]
    if len(kept) == len(branches):
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}
