"""The tool list the model is offered, as Letta sends it for each loop."""

from toolhub.agent.tool_schemas import OfferedTool, llm_tools

ADD = {
    "name": "add",
    "description": "Add two integers.",
    "parameters": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}
SEND = {
    "name": "send_message",
    "description": "Sends a message to the human user.",
    "parameters": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
}


def test_heartbeat_loops_get_thoughts_first_and_heartbeats_on_all_but_send_message():
    add, send = llm_tools(
        [OfferedTool(name="add", json_schema=ADD), OfferedTool(name="send_message", json_schema=SEND)],
        thoughts_key="inner_thoughts",
        heartbeats=True,
        strict=False,
    )
    assert list(add["function"]["parameters"]["properties"]) == ["inner_thoughts", "a", "b", "request_heartbeat"]
    assert add["function"]["parameters"]["required"] == ["inner_thoughts", "a", "b", "request_heartbeat"]
    assert list(send["function"]["parameters"]["properties"]) == ["inner_thoughts", "message"]
    assert "strict" not in add["function"]
    assert list(ADD["parameters"]["properties"]) == ["a", "b"]  # the stored schema is not changed


def test_letta_v1_tools_are_the_stored_schemas_and_strict_uses_the_strict_variant():
    strict_schema = {**ADD, "parameters": {**ADD["parameters"], "additionalProperties": False}}
    (plain,) = llm_tools([OfferedTool(name="add", json_schema=ADD)], thoughts_key=None, heartbeats=False, strict=True)
    (strict,) = llm_tools(
        [OfferedTool(name="add", json_schema=ADD, strict_json_schema=strict_schema)],
        thoughts_key=None,
        heartbeats=False,
        strict=True,
    )
    assert plain["function"]["parameters"]["properties"] == ADD["parameters"]["properties"]
    assert "strict" not in plain["function"]
    assert strict["function"]["strict"] is True
    assert strict["function"]["parameters"]["additionalProperties"] is False
