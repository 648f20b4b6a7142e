"""OpenAI strict-mode ("structured outputs") variant of a function schema, computed at request time.

Kept apart from schema generation: the stored schema stays canonical, and this rewrite is a pure
function over it. Input may come from MCP servers or clients, so it is validated first and the
walk is bounded. Strict mode needs every object closed (`additionalProperties: false`) with all
properties required, so optional properties become nullable instead; a free-form object (a bare
`dict` parameter) or a keyword strict mode lacks means the tool must be sent non-strict.
"""

import re
from collections.abc import Collection, Iterator
from typing import Any, Literal

Health = Literal["STRICT_COMPLIANT", "NON_STRICT_ONLY", "INVALID"]

MAX_NODES = 10_000
MAX_DEPTH = 64
STRICT_MAX_NESTING = 10
STRICT_MAX_PROPERTIES = 5_000

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object", "null"})
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
_SCHEMA_MAPS = ("properties", "$defs", "definitions")
_STRICT_KEYWORDS = frozenset({
    "type", "description", "enum", "const", "properties", "required", "additionalProperties", "items",
    "anyOf", "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "minItems", "maxItems",
})  # fmt: skip
_ANNOTATIONS = frozenset({"title", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly"})
_STRICT_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
_NULL = {"type": "null"}


class _Invalid(Exception):
    """Not a usable function schema at all."""


class _NotStrict(Exception):
    """A fine schema that strict mode cannot express."""


def strict_variant(json_schema: dict[str, Any]) -> tuple[dict[str, Any] | None, Health]:
    """`(strict schema, "STRICT_COMPLIANT")`, or `(None, "NON_STRICT_ONLY" | "INVALID")`."""
    try:
        _check_function(json_schema)
        parameters = _Strict().closed_object(json_schema["parameters"], 1)
    except _Invalid:
        return None, "INVALID"
    except _NotStrict:
        return None, "NON_STRICT_ONLY"
    head: dict[str, Any] = {key: json_schema[key] for key in ("name", "description") if key in json_schema}
    return {**head, "strict": True, "parameters": parameters}, "STRICT_COMPLIANT"


def _check_function(json_schema: Any) -> None:
    if not isinstance(json_schema, dict) or not _NAME.match(str(json_schema.get("name", ""))):
        raise _Invalid
    if not isinstance(json_schema.get("description", ""), str):
        raise _Invalid
    parameters = json_schema.get("parameters")
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        raise _Invalid
    budget = MAX_NODES
    for _ in _valid_nodes(parameters, 0):
        budget -= 1
        if budget < 0:
            raise _Invalid


def _valid_nodes(schema: Any, depth: int) -> Iterator[dict[str, Any]]:
    """Every sub-schema, after checking the structural rules JSON Schema gives each keyword."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        raise _Invalid
    _check_node(schema)
    yield schema
    for key in _SCHEMA_LISTS:
        for sub in _typed(schema.get(key, []), list):
            yield from _valid_nodes(sub, depth + 1)
    for key in _SCHEMA_VALUES:
        if key in schema:
            yield from _valid_nodes(schema[key], depth + 1)
    for key in _SCHEMA_MAPS:
        for sub in _typed(schema.get(key, {}), dict).values():
            yield from _valid_nodes(sub, depth + 1)


def _check_node(schema: dict[str, Any]) -> None:
    types = schema.get("type", "object")
    if not all(isinstance(t, str) and t in _JSON_TYPES for t in (types if isinstance(types, list) else [types])):
        raise _Invalid
    properties = _typed(schema.get("properties", {}), dict)
    required = _typed(schema.get("required", []), list)
    if not all(isinstance(name, str) for name in required):
        raise _Invalid
    if "properties" in schema and not set(required) <= set(properties):
        raise _Invalid
    for key, kind in (("description", str), ("format", str), ("enum", list)):
        if key in schema:
            _typed(schema[key], kind)


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise _Invalid
    return value


class _Strict:
    """Rewrites an already validated schema; raises _NotStrict where strict mode cannot follow."""

    def __init__(self) -> None:
        self._properties = 0

    def node(self, schema: Any, depth: int) -> dict[str, Any]:
        if not isinstance(schema, dict) or depth > STRICT_MAX_NESTING:
            raise _NotStrict
        if "anyOf" in schema:
            return self._keywords(schema, depth)
        types = schema.get("type")
        if types is None and "enum" not in schema:
            raise _NotStrict  # an unconstrained value (Any) or a $ref strict mode would need resolved
        if types == "object" or (isinstance(types, list) and "object" in types):
            return self.closed_object(schema, depth)
        return self._keywords(schema, depth)

    def closed_object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or schema.get("additionalProperties", False) is not False:
            raise _NotStrict  # a free-form object: strict mode needs every key declared
        self._properties += len(properties)
        if self._properties > STRICT_MAX_PROPERTIES:
            raise _NotStrict
        required = set(schema.get("required", []))
        closed = {
            name: self.node(sub, depth + 1) if name in required else _nullable(self.node(sub, depth + 1))
            for name, sub in properties.items()
        }
        out = {}
        for key, value in self._keywords(
            schema, depth, skip={"properties", "required", "additionalProperties"}
        ).items():
            out[key] = value
            if key == "type":
                out.update(properties=closed, required=list(closed), additionalProperties=False)
        return out

    def _keywords(self, schema: dict[str, Any], depth: int, skip: Collection[str] = ()) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in skip or key in _ANNOTATIONS:
                continue
            if key not in _STRICT_KEYWORDS or (key == "format" and value not in _STRICT_FORMATS):
                raise _NotStrict
            if key == "items":
                out[key] = self.node(value, depth + 1)
            elif key == "anyOf":
                out[key] = [self.node(branch, depth + 1) for branch in value]
            else:
                out[key] = value
        if "array" in _types(schema) and "items" not in out:
            raise _NotStrict  # a tuple (prefixItems) or an untyped array
        return out


def _types(schema: dict[str, Any]) -> list[str]:
    types = schema.get("type", [])
    return types if isinstance(types, list) else [types]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional property made required-but-nullable, the way strict mode expresses "may be absent"."""
    if "anyOf" in schema:
        return schema if _NULL in schema["anyOf"] else {**schema, "anyOf": [*schema["anyOf"], _NULL]}
    out = dict(schema)
    types = _types(schema)
    if types and "null" not in types:
        out["type"] = [*types, "null"]
    if "enum" in schema and None not in schema["enum"]:
        out["enum"] = [*schema["enum"], None]
    return out
