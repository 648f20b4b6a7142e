"""Call endings as MCP results: tool failures and infrastructure failures are tool errors the model can read."""

from toolhub.errors import InvalidInputError, SandboxUnavailableError, ToolServerNotFoundError
from toolhub.server.mcp_endpoint.results import failure_result, outcome_result
from toolhub.tools.executor import ToolOutcome


def outcome(text: str, status: str = "success") -> ToolOutcome:
    return ToolOutcome(name="t", status=status, text=text)


def test_a_json_object_return_is_structured_and_stays_text():
    result = outcome_result(outcome('{"sum": 3}'))
    assert result.structured_content == {"sum": 3} and result.content[0].text == '{"sum": 3}'
    assert result.is_error is False


def test_other_returns_are_text_only():
    for text in ("[1, 2]", "42", "plain words", '{"cut": "by return_char_limit'):
        assert outcome_result(outcome(text)).structured_content is None


def test_a_failed_tool_is_a_tool_error_with_its_text():
    result = outcome_result(outcome('{"looks": "like json"}', status="error"))
    assert result.is_error is True and result.structured_content is None
    assert result.content[0].text == '{"looks": "like json"}'


def test_infrastructure_failures_say_what_failed_and_whether_to_retry():
    down = failure_result(SandboxUnavailableError("the docker engine is down", op="sandbox.run"))
    assert down.is_error is True
    assert down.content[0].text == (
        "toolhub could not run the tool (sandbox_unavailable; retrying later may work): the docker engine is down"
    )
    gone = failure_result(ToolServerNotFoundError("MCP server 'x' is not configured", op="mcp.call"))
    assert "retrying will not help" in gone.content[0].text


def test_a_refused_call_is_a_tool_error():
    result = failure_result(InvalidInputError({"field": "sandbox"}))
    assert result.is_error is True
    assert result.content[0].text == 'toolhub refused the call (invalid_input): {"field": "sandbox"}'
