"""Stored tools in MCP's `tools/list` shape, and the digest that decides who hears `list_changed`."""

from toolhub.server.mcp_endpoint.catalog import EMPTY_INPUT, digest, mcp_tool
from toolhub.store.models import Tool

PARAMETERS = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def tool(name: str = "add", **fields) -> Tool:
    fields.setdefault("json_schema", {"name": name, "description": "From the schema.", "parameters": PARAMETERS})
    return Tool(id=f"tool-{name}", name=name, **fields)


def test_input_schema_is_the_functions_parameters():
    assert mcp_tool(tool(description="Adds.")) == {"name": "add", "description": "Adds.", "inputSchema": PARAMETERS}


def test_description_falls_back_to_the_schemas_and_may_be_absent():
    assert mcp_tool(tool())["description"] == "From the schema."
    assert "description" not in mcp_tool(tool(json_schema={"name": "add", "parameters": PARAMETERS}))


def test_a_schema_that_is_not_an_object_takes_no_arguments():
    assert mcp_tool(tool(json_schema={"name": "add", "parameters": {"type": "array"}}))["inputSchema"] == EMPTY_INPUT
    assert mcp_tool(tool(json_schema=None))["inputSchema"] == EMPTY_INPUT


def test_digest_follows_what_clients_see_only():
    rows = [tool("a"), tool("b")]
    assert digest(rows) == digest(list(reversed(rows)))
    assert digest(rows) == digest([tool("a", source_code="changed"), tool("b")])
    assert digest(rows) != digest([tool("a", description="New words."), tool("b")])
    assert digest(rows) != digest(rows[:1])
    assert digest([]) != digest(rows[:1])
