"""Tool registration: turn a create/update request into stored columns, and keep base tools seeded.

Schema derivation may start a confined subprocess, so it runs in a worker thread and before any database
transaction opens: a slow or hostile source never holds a connection.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from toolhub.builtin_tools.base import base_tool_fields, base_tool_names, base_tool_specs
from toolhub.errors import InvalidInputError
from toolhub.store.models import Tool as ToolRow
from toolhub.store.repositories.tools import ToolRepository
from toolhub.tools.model import PipRequirement, ToolCreate, ToolUpdate
from toolhub.tools.schema import derive_json_schema, function_name, json_schema_from_args_schema
from toolhub.tools.strict import strict_variant


@dataclass(frozen=True)
class SchemaFields:
    """The columns that follow from a tool's source and schemas."""

    name: str
    description: str | None
    json_schema: dict[str, Any]
    strict_json_schema: dict[str, Any] | None
    schema_health: str

    def columns(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "json_schema": self.json_schema,
            "strict_json_schema": self.strict_json_schema,
            "schema_health": self.schema_health,
        }


def _check_source_type(source_type: str | None) -> None:
    if source_type not in (None, "python"):
        raise InvalidInputError(f"Unsupported source_type {source_type!r}: tools are created from Python source")


def _schema_for(source_code: str, json_schema: dict | None, args_json_schema: dict | None) -> dict[str, Any]:
    """A client-supplied json_schema wins; then args_json_schema; then the source itself."""
    if json_schema is not None:
        declared = json_schema.get("name")
        actual = function_name(source_code)
        if declared is not None and declared != actual:
            raise InvalidInputError(f"json_schema names '{declared}' but the source defines function '{actual}'")
        return {**json_schema, "name": actual}
    if args_json_schema is not None:
        return json_schema_from_args_schema(source_code, args_json_schema)
    return derive_json_schema(source_code)


def _derive(
    source_code: str, json_schema: dict | None, args_json_schema: dict | None, description: str | None
) -> SchemaFields:
    schema = _schema_for(source_code, json_schema, args_json_schema)
    if description:
        schema = {**schema, "description": description}
    strict, health = strict_variant(schema)
    if health == "INVALID":
        raise InvalidInputError(f"json_schema for '{schema.get('name')}' is not a valid function schema")
    return SchemaFields(schema["name"], schema.get("description"), schema, strict, health)


async def derive_schema_fields(
    source_code: str,
    *,
    source_type: str | None = "python",
    json_schema: dict | None = None,
    args_json_schema: dict | None = None,
    description: str | None = None,
) -> SchemaFields:
    _check_source_type(source_type)
    return await asyncio.to_thread(_derive, source_code, json_schema, args_json_schema, description)


def _requirements(reqs: list[PipRequirement] | None) -> list[dict[str, Any]] | None:
    return None if reqs is None else [r.model_dump() for r in reqs]


async def columns_for_create(body: ToolCreate) -> dict[str, Any]:
    derived = await derive_schema_fields(
        body.source_code,
        source_type=body.source_type,
        json_schema=body.json_schema,
        args_json_schema=body.args_json_schema,
        description=body.description,
    )
    return {
        **derived.columns(),
        "tool_type": "custom",
        "source_type": body.source_type,
        "source_code": body.source_code,
        "args_json_schema": body.args_json_schema,
        "tags": body.tags,
        "return_char_limit": body.return_char_limit,
        "pip_requirements": _requirements(body.pip_requirements),
    }


async def columns_for_update(current: ToolRow, body: ToolUpdate) -> dict[str, Any]:
    """Only the fields the client sent change; new source or schemas re-derive the schema (and may rename)."""
    sent = body.model_dump(exclude_none=True)
    columns: dict[str, Any] = {k: v for k, v in sent.items() if k in ("tags", "return_char_limit", "metadata_")}
    if "pip_requirements" in sent:
        columns["pip_requirements"] = _requirements(body.pip_requirements)
    schema_inputs = {"source_code", "source_type", "json_schema", "args_json_schema", "description"}
    if not schema_inputs & sent.keys():
        return columns
    if current.tool_type != "custom":
        if "description" in sent and not ({"source_code", "json_schema", "args_json_schema"} & sent.keys()):
            return {**columns, "description": body.description}
        raise InvalidInputError(f"Tool '{current.name}' is a {current.tool_type} tool; its schema cannot be edited")
    source_changed = "source_code" in sent
    derived = await derive_schema_fields(
        body.source_code if source_changed else current.source_code,
        source_type=body.source_type if body.source_type is not None else current.source_type,
        json_schema=body.json_schema if "json_schema" in sent else (None if source_changed else current.json_schema),
        args_json_schema=body.args_json_schema if "args_json_schema" in sent else current.args_json_schema,
        description=body.description,
    )
    return {
        **columns,
        **derived.columns(),
        **{k: sent[k] for k in ("source_code", "source_type", "args_json_schema") if k in sent},
    }


async def ensure_base_tools(tools: ToolRepository) -> None:
    """Seed any missing base tool (Letta does this on list)."""
    if await tools.names(base_tool_names()) != base_tool_names():
        await upsert_base_tools(tools)


async def upsert_base_tools(tools: ToolRepository) -> list[ToolRow]:
    return [await tools.upsert(**base_tool_fields(spec)) for spec in base_tool_specs()]
