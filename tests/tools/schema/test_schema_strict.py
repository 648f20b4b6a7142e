"""strict_variant: the OpenAI strict-mode rewrite and its health tag, on hand-written (MCP-like) schemas."""

import json
from typing import Any

import pytest

from toolhub.tools.schema.strict import MAX_NODES, STRICT_MAX_NESTING, STRICT_MAX_PROPERTIES, strict_variant


def _tool(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required or [], **extra}
    return {"name": "tool", "description": "A tool.", "parameters": parameters}


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"inner": schema}, "required": ["inner"]}
    return schema


def test_strict_shape_and_key_order() -> None:
    strict, health = strict_variant(_tool({"q": {"type": "string", "description": "Query."}}, ["q"]))
    assert health == "STRICT_COMPLIANT"
    assert json.dumps(strict) == json.dumps(
        {
            "name": "tool",
            "description": "A tool.",
            "strict": True,
            "parameters": {
                "type": "object",
                "properties": {"q": {"type": "string", "description": "Query."}},
                "required": ["q"],
                "additionalProperties": False,
            },
        }
    )


@pytest.mark.parametrize(
    ("optional", "nullable"),
    [
        ({"type": "integer"}, {"type": ["integer", "null"]}),
        ({"type": ["integer", "string"]}, {"type": ["integer", "string", "null"]}),
        ({"type": ["integer", "null"]}, {"type": ["integer", "null"]}),
        ({"type": "string", "enum": ["a", "b"]}, {"type": ["string", "null"], "enum": ["a", "b", None]}),
        ({"enum": [1, "a"]}, {"enum": [1, "a", None]}),
        (
            {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]},
        ),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
    ],
)
def test_optional_properties_become_required_and_nullable(optional: dict, nullable: dict) -> None:
    strict, health = strict_variant(_tool({"x": optional}))
    assert health == "STRICT_COMPLIANT"
    assert strict["parameters"]["properties"]["x"] == nullable
    assert strict["parameters"]["required"] == ["x"]


def test_annotations_are_dropped_and_supported_keywords_kept() -> None:
    schema = _tool(
        {
            "when": {"type": "string", "format": "date-time", "title": "When", "default": "now"},
            "n": {"type": "integer", "minimum": 1, "maximum": 9, "examples": [3]},
            "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}, "maxItems": 3},
        },
        ["when", "n", "tags"],
        title="ToolArgs",
    )
    strict, health = strict_variant(schema)
    assert health == "STRICT_COMPLIANT"
    assert strict["parameters"] == {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "n": {"type": "integer", "minimum": 1, "maximum": 9},
            "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}, "maxItems": 3},
        },
        "required": ["when", "n", "tags"],
        "additionalProperties": False,
    }


def test_a_model_already_closed_is_accepted() -> None:
    schema = _tool({"x": {"type": "integer"}}, ["x"], additionalProperties=False)
    assert strict_variant(schema)[1] == "STRICT_COMPLIANT"


NON_STRICT = {
    "bare object": {"type": "object"},
    "map of values": {"type": "object", "additionalProperties": {"type": "integer"}},
    "open object": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True},
    "any value": {"description": "Anything."},
    "tuple": {"type": "array", "prefixItems": [{"type": "string"}], "minItems": 1, "maxItems": 1},
    "array without items": {"type": "array"},
    "minLength": {"type": "string", "minLength": 1},
    "unsupported format": {"type": "string", "format": "uri"},
    "oneOf": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "$ref": {"$ref": "#/$defs/Thing"},
    "too deep": _nested(STRICT_MAX_NESTING),
}


@pytest.mark.parametrize("prop", NON_STRICT.values(), ids=NON_STRICT.keys())
def test_schemas_strict_mode_cannot_express(prop: dict) -> None:
    assert strict_variant(_tool({"x": prop}, ["x"])) == (None, "NON_STRICT_ONLY")


def test_too_many_properties_for_strict_mode() -> None:
    properties = {f"p{i}": {"type": "string"} for i in range(STRICT_MAX_PROPERTIES + 1)}
    assert strict_variant(_tool(properties)) == (None, "NON_STRICT_ONLY")


INVALID = {
    "not an object": [],
    "no name": {"description": "x", "parameters": {"type": "object", "properties": {}}},
    "bad name": {**_tool({}), "name": "has spaces"},
    "long name": {**_tool({}), "name": "x" * 65},
    "no parameters": {"name": "tool"},
    "parameters not an object schema": {**_tool({}), "parameters": {"type": "array"}},
    "description not a string": {**_tool({}), "description": 3},
    "properties not an object": {**_tool({}), "parameters": {"type": "object", "properties": []}},
    "required names an unknown property": _tool({"a": {"type": "string"}}, ["b"]),
    "required not a list": {**_tool({}), "parameters": {"type": "object", "properties": {}, "required": "a"}},
    "property not a schema": _tool({"a": 3}),
    "unknown type": _tool({"a": {"type": "date"}}),
    "enum not a list": _tool({"a": {"enum": "abc"}}),
    "absurdly deep": _tool({"a": _nested(100)}),
    "absurdly large": _tool({f"p{i}": {"type": "string"} for i in range(MAX_NODES)}),
    "invalid deep inside a non-strict part": _tool({"a": {"type": "object", "additionalProperties": {"type": "date"}}}),
}


@pytest.mark.parametrize("schema", INVALID.values(), ids=INVALID.keys())
def test_invalid_function_schemas(schema: Any) -> None:
    assert strict_variant(schema) == (None, "INVALID")


GARBAGE = {
    "type is an object": _tool({"a": {"type": {}}}),
    "type list holds an object": _tool({"a": {"type": [{}]}}),
    "format is an object": _tool({"a": {"type": "string", "format": {}}}),
    "properties is a list of objects": {**_tool({}), "parameters": {"type": "object", "properties": [{}]}},
    "required holds an object": {
        **_tool({"a": {"type": "string"}}),
        "parameters": {"type": "object", "required": [{}]},
    },
    "anyOf is an object": _tool({"a": {"anyOf": {}}}),
    "items is a number": _tool({"a": {"type": "array", "items": 3}}),
}


@pytest.mark.parametrize("schema", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_is_invalid_not_a_crash(schema: Any) -> None:
    assert strict_variant(schema) == (None, "INVALID")
