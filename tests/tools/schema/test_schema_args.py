"""Schemas from a Pydantic `model_json_schema()` (letta-client's args_schema), with real pydantic output."""

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from toolhub.tools.schema.derive import ToolSchemaError, json_schema_from_args_schema


class Step(BaseModel):
    name: str = Field(..., description="Name of the step.")
    description: str = Field(
        ..., description="An exhaustic description of what this step is trying to achieve and accomplish."
    )


class StepsList(BaseModel):
    steps: list[Step] = Field(..., description="List of steps to add to the task plan.")
    explanation: str = Field(..., description="Explanation for the list of steps.")


# the seed's create_task_plan: no annotations and no Args section; the model carries everything
CREATE_TASK_PLAN = '''
def create_task_plan(steps, explanation):
    """ Creates a task plan for the current task. """
    return steps
'''


class InventoryItem(BaseModel):
    sku: str  # no descriptions anywhere: the seed's manage_inventory models
    name: str
    price: float
    category: str


class InventoryEntry(BaseModel):
    timestamp: int
    item: InventoryItem
    transaction_id: str


class InventoryEntryData(BaseModel):
    data: InventoryEntry
    quantity_change: int


# what letta-client's tools.add(ManageInventoryTool()) sends: run(self, ...) renamed, no docstring
MANAGE_INVENTORY = """
def manage_inventory(data: InventoryEntry, quantity_change: int) -> bool:
    print(f"Updated inventory for {data.item.name} with a quantity change of {quantity_change}")
    return True
"""


def test_seed_create_task_plan() -> None:
    schema = json_schema_from_args_schema(CREATE_TASK_PLAN, StepsList.model_json_schema())
    step = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Name of the step."},
            "description": {"type": "string", "description": Step.model_fields["description"].description},
        },
        "required": ["name", "description"],
    }
    expected = {
        "name": "create_task_plan",
        "description": "Creates a task plan for the current task.",
        "parameters": {
            "type": "object",
            "properties": {
                "steps": {"type": "array", "items": step, "description": "List of steps to add to the task plan."},
                "explanation": {"type": "string", "description": "Explanation for the list of steps."},
            },
            "required": ["steps", "explanation"],
        },
    }
    assert json.dumps(schema) == json.dumps(expected)


def test_seed_manage_inventory_without_descriptions_or_docstring() -> None:
    schema = json_schema_from_args_schema(MANAGE_INVENTORY, InventoryEntryData.model_json_schema())
    assert schema["name"] == "manage_inventory"
    assert schema["description"] == "The manage_inventory tool"
    data = schema["parameters"]["properties"]["data"]
    assert data == {
        "type": "object",
        "properties": {
            "timestamp": {"type": "integer"},
            "item": {
                "type": "object",
                "properties": {
                    k: {"type": t}
                    for k, t in [("sku", "string"), ("name", "string"), ("price", "number"), ("category", "string")]
                },
                "required": ["sku", "name", "price", "category"],
            },
            "transaction_id": {"type": "string"},
        },
        "required": ["timestamp", "item", "transaction_id"],
    }
    assert schema["parameters"]["required"] == ["data", "quantity_change"]
    assert "$ref" not in json.dumps(schema) and "$defs" not in json.dumps(schema) and "title" not in json.dumps(schema)


class Filters(BaseModel):
    """Narrow the search."""

    tags: list[str] = Field(default_factory=list, description="Only records with all these tags.")
    kind: Literal["doc", "mail"] = "doc"


class SearchArgs(BaseModel):
    query: str = Field(description="What to look for.")
    limit: int = Field(10, description="Maximum number of results.", ge=1)
    filters: Filters | None = None
    cursor: str | None = Field(default=None, description="Where the previous page ended.")
    exact: bool | None = Field(description="Required, but may be null.")


SEARCH = '''
def search(query: str, limit: int = 10, filters=None, cursor=None, exact=None) -> str:
    """Search the archive.

    Long explanation of the search.

    Args:
        query: Ignored: the model's description wins.
        filters: Filters from the docstring, used because the field has none.
    """
    return query
'''


def test_optional_fields_defaults_and_docstring_fallback() -> None:
    schema = json_schema_from_args_schema(SEARCH, SearchArgs.model_json_schema())
    properties = schema["parameters"]["properties"]
    assert schema["description"] == "Search the archive.\n\nLong explanation of the search."
    assert properties["query"] == {"type": "string", "description": "What to look for."}
    assert properties["limit"] == {
        "type": "integer",
        "minimum": 1,
        "default": 10,
        "description": "Maximum number of results.",
    }
    assert properties["filters"] == {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Only records with all these tags."},
            "kind": {"type": "string", "enum": ["doc", "mail"], "default": "doc"},
        },
        "description": "Filters from the docstring, used because the field has none.",
    }
    assert properties["cursor"] == {"type": "string", "description": "Where the previous page ended."}
    assert properties["exact"] == {"type": "boolean", "description": "Required, but may be null."}
    assert schema["parameters"]["required"] == ["query"]


class WithState(BaseModel):
    agent_state: dict = Field(description="Injected, never shown.")
    note: str = Field(description="A note.")


def test_hidden_fields_are_dropped() -> None:
    source = 'def take_note(agent_state, note):\n    """Take a note."""\n'
    schema = json_schema_from_args_schema(source, WithState.model_json_schema())
    assert list(schema["parameters"]["properties"]) == ["note"]


def test_legacy_definitions_key_is_resolved() -> None:
    args = StepsList.model_json_schema()
    legacy = json.loads(json.dumps(args).replace("#/$defs/", "#/definitions/"))
    legacy["definitions"] = legacy.pop("$defs")
    assert json_schema_from_args_schema(CREATE_TASK_PLAN, legacy) == json_schema_from_args_schema(
        CREATE_TASK_PLAN, args
    )


def test_fields_are_accepted_by_kwargs() -> None:
    source = 'def create_task_plan(**kwargs):\n    """Plan."""\n'
    assert list(json_schema_from_args_schema(source, StepsList.model_json_schema())["parameters"]["properties"]) == [
        "steps",
        "explanation",
    ]


class TreeNode(BaseModel):
    label: str
    children: list["TreeNode"] = []


class TreeArgs(BaseModel):
    root: TreeNode


@pytest.mark.parametrize(
    ("source", "args", "fragment"),
    [
        (
            'def create_task_plan(steps):\n    """Plan."""\n',
            StepsList.model_json_schema(),
            "does not take: explanation",
        ),
        ('def grow(root):\n    """Grow."""\n', TreeArgs.model_json_schema(), "'TreeNode' refers to itself"),
        ('def f(x):\n    """F."""\n', {"type": "object"}, "with 'properties'"),
        ('def f(x):\n    """F."""\n', {"properties": {"x": {"$ref": "#/$defs/Nope"}}}, "unresolvable $ref"),
        (
            'def f(x):\n    """F."""\n',
            {"properties": {"x": {"type": "integer"}}, "required": "x"},
            "'required' must be a list",
        ),
        ('def f(x):\n    """F."""\n', {"properties": {"x": {"type": "date"}}}, "unknown JSON type"),
        ('def f(x):\n    """F."""\n', {"properties": {"x": 3}}, "a schema must be an object"),
        (
            'def f(x):\n    """F."""\n',
            {"properties": {"x": {"type": "string", "description": 3}}},
            "description has the",
        ),
        ('def f(x):\n    """F."""\n', {"properties": {"x": {"type": "integer", "minimum": True}}}, "minimum has the"),
        ('def f(x):\n    """F."""\n', {"properties": {"x": {"enum": [[1]]}}}, "not a JSON scalar"),
        ('def f(x):\n    """F."""\n', {"properties": {"x": {"type": ["null"]}}, "$defs": []}, "$defs must be"),
        ('def f(x):\n    """F."""\n', {"properties": {"x": {"allOf": [{"type": "integer"}, {"minimum": 1}]}}}, "allOf"),
        ("def f(x:\n", StepsList.model_json_schema(), "syntax error"),
    ],
)
def test_bad_args_schemas(source: str, args: dict, fragment: str) -> None:
    with pytest.raises(ToolSchemaError) as caught:
        json_schema_from_args_schema(source, args)
    assert fragment in str(caught.value)


def test_exponential_ref_expansion_is_bounded() -> None:
    defs = {
        f"L{i}": {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/L{i + 1}"}, "b": {"$ref": f"#/$defs/L{i + 1}"}},
        }
        for i in range(30)
    }
    defs["L30"] = {"type": "string"}
    args = {"properties": {"x": {"$ref": "#/$defs/L0"}}, "$defs": defs}
    with pytest.raises(ToolSchemaError, match="too large"):
        json_schema_from_args_schema('def f(x):\n    """F."""\n', args)


def test_hand_written_json_schema_keywords() -> None:
    """What other generators (pydantic v1, zod, MCP servers) emit is brought to the same canonical form."""
    args = {
        "title": "Args",
        "type": "object",
        "properties": {
            "count": {"title": "Count", "type": ["integer", "null"]},
            "mode": {"const": "fast"},
            "key": {"oneOf": [{"type": "integer"}, {"type": "string"}, {"type": "integer"}]},
            "step": {"allOf": [{"$ref": "#/definitions/Step"}], "description": "The step."},
            "extra": {"type": "object", "additionalProperties": True},
            "items": {"type": "array", "items": True},
        },
        "required": ["count", "mode", "key", "step", "extra", "items"],
        "definitions": {"Step": {"title": "Step", "type": "object", "properties": {"n": {"type": "integer"}}}},
    }
    source = 'def f(count, mode, key, step, extra, items):\n    """F."""\n'
    assert json_schema_from_args_schema(source, args)["parameters"] == {
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "mode": {"type": "string", "enum": ["fast"]},
            "key": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "step": {"type": "object", "properties": {"n": {"type": "integer"}}, "description": "The step."},
            "extra": {"type": "object"},
            "items": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["mode", "key", "step", "extra", "items"],
    }
