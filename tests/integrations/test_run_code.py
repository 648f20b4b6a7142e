"""`run_code` through the real `e2b-code-interpreter` SDK against the local E2B server."""

import json

import pytest

from tests.fakes.e2b_server import FakeE2B
from toolhub.integrations.keys import BuiltinToolError
from toolhub.integrations.run_code import run_code


async def test_python_returns_results_and_logs_as_json_and_the_sandbox_is_killed(e2b: FakeE2B):
    answer = json.loads(await run_code({"E2B_API_KEY": e2b.api_key}, "print('hello')\n6 * 7", "python"))
    assert answer == {"results": ["42"], "logs": {"stdout": ["hello\n"], "stderr": []}}
    (box,) = e2b.sandboxes.values()
    assert box.executions[0]["language"] is None
    assert not box.alive


async def test_an_exception_in_the_code_is_an_error_entry(e2b: FakeE2B):
    answer = json.loads(await run_code({"E2B_API_KEY": e2b.api_key}, "1 / 0", "python"))
    assert answer["results"] == []
    assert answer["error"]["name"] == "ZeroDivisionError"
    assert "ZeroDivisionError" in answer["error"]["traceback"]


async def test_the_servers_key_is_used_and_debug_mode_is_ignored(e2b: FakeE2B, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("E2B_API_KEY", e2b.api_key)
    monkeypatch.setenv("E2B_DEBUG", "true")
    answer = json.loads(await run_code({}, "'ok'", "python"))
    assert answer["results"] == ["'ok'"]
    assert len(e2b.sandboxes) == 1  # debug mode would have skipped creating it


async def test_a_missing_key_is_a_clear_error(e2b: FakeE2B):
    with pytest.raises(BuiltinToolError, match="E2B_API_KEY is not set"):
        await run_code({}, "1", "python")
    assert e2b.sandboxes == {}


async def test_a_language_the_sandbox_lacks_is_an_error_and_the_sandbox_is_still_killed(e2b: FakeE2B):
    with pytest.raises(BuiltinToolError, match="not available"):
        await run_code({"E2B_API_KEY": e2b.api_key}, "console.log(1)", "js")
    (box,) = e2b.sandboxes.values()
    assert box.executions[0]["language"] == "js"
    assert not box.alive


async def test_an_unknown_language_and_a_wrong_key_are_errors(e2b: FakeE2B):
    with pytest.raises(BuiltinToolError, match="'cobol' is not supported"):
        await run_code({"E2B_API_KEY": e2b.api_key}, "1", "cobol")
    with pytest.raises(BuiltinToolError, match="Invalid API key"):
        await run_code({"E2B_API_KEY": "e2b_" + "9" * 40}, "1", "python")
