"""`POST /v1/tools/run` through letta-client, with sandbox-config env vars and timeouts, on a real server."""

import json

import pytest
from letta_client import Letta

ADD = '''def add_numbers(a: int, b: int) -> int:
    """Add two integers and return the sum.

    Args:
        a (int): The first integer.
        b (int): The second integer.
    """
    return a + b
'''

ENV_PROBE = '''def env_probe(names: list) -> dict:
    """Report environment variables.

    Args:
        names (list): Variable names to read.
    """
    import os
    print("probing", len(names))
    return {n: os.environ.get(n) for n in names}
'''


@pytest.fixture(scope="module")
def run_server(tmp_path_factory):
    """A server whose own environment holds secrets that tools must never see."""
    from tests.support.server import ServerProcess, fresh_database_url

    home = tmp_path_factory.mktemp("run-home")
    proc = ServerProcess(home, fresh_database_url("sqlite", home), OPENAI_API_KEY="sk-server-secret")
    proc.env["SERVER_ONLY_SECRET"] = "hunter2"
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def letta(run_server) -> Letta:
    return Letta(base_url=run_server.base_url)


def test_success_matches_letta(letta):
    result = letta.tools.run_tool_from_source(source_code=ADD, args={"a": 2, "b": 1})
    assert result.status == "success" and result.tool_return == "3"
    assert result.message_type == "tool_return_message" and result.stdout == [] and result.stderr == []


def test_exception_is_lettas_error_text(letta):
    source = 'def boom(x: int) -> int:\n    """Always raise.\n\n    Args:\n        x (int): input\n    """\n    raise ValueError("boom " + str(x))\n'
    result = letta.tools.run_tool_from_source(source_code=source, args={"x": 1})
    assert result.status == "error"
    assert result.tool_return == "Error executing function boom: ValueError: boom 1"
    assert "Traceback" in result.stderr[0]


def test_arguments_are_coerced_by_the_derived_schema(letta):
    result = letta.tools.run_tool_from_source(source_code=ADD, args={"a": "2", "b": 40})
    assert result.status == "success" and result.tool_return == "42"


def test_missing_argument(letta):
    result = letta.tools.run_tool_from_source(source_code=ADD, args={"a": 1})
    assert result.status == "error"
    assert "TypeError" in result.tool_return and "'b'" in result.tool_return


def test_stdout_and_json_return(letta):
    result = letta.tools.run_tool_from_source(source_code=ENV_PROBE, args={"names": ["NOPE"]})
    assert result.status == "success"
    assert result.stdout == ["probing 1\n"]
    assert result.tool_return == '{"NOPE": null}'


def test_server_secrets_never_reach_tools(letta):
    names = ["OPENAI_API_KEY", "SERVER_ONLY_SECRET", "TOOLHUB_DATABASE_URL", "TOOLHUB_HOME", "PATH"]
    result = letta.tools.run_tool_from_source(source_code=ENV_PROBE, args={"names": names})
    seen = json.loads(result.tool_return)
    assert seen["OPENAI_API_KEY"] is None and seen["SERVER_ONLY_SECRET"] is None
    assert seen["TOOLHUB_DATABASE_URL"] is None and seen["TOOLHUB_HOME"] is None
    assert seen["PATH"]


def test_sandbox_config_env_then_call_env(letta, run_server):
    """Config values of 6 characters or more are secrets, redacted from what the tool returns; the short ones
    show the precedence."""
    with run_server.client() as http:
        config = http.post("/v1/sandbox-config/local/default").json()
        base = f"/v1/sandbox-config/{config['id']}/environment-variable"
        http.post(base, json={"key": "FROM_CONFIG", "value": "cfg"})
        http.post(base, json={"key": "OVERRIDDEN", "value": "cfg"})
        http.post(base, json={"key": "CONFIG_TOKEN", "value": "config-secret-value"})
    result = letta.tools.run_tool_from_source(
        source_code=ENV_PROBE,
        args={"names": ["FROM_CONFIG", "OVERRIDDEN", "FROM_CALL", "CONFIG_TOKEN"]},
        env_vars={"OVERRIDDEN": "call", "FROM_CALL": "call"},
    )
    assert json.loads(result.tool_return) == {
        "FROM_CONFIG": "cfg", "OVERRIDDEN": "call", "FROM_CALL": "call", "CONFIG_TOKEN": "[REDACTED]"
    }


def test_sandbox_config_timeout_applies(letta, run_server):
    with run_server.client() as http:
        http.post("/v1/sandbox-config/local", json={"timeout": 1})
    source = 'def sleepy() -> str:\n    """Sleep too long."""\n    import time\n    time.sleep(30)\n    return "late"\n'
    try:
        result = letta.tools.run_tool_from_source(source_code=source, args={})
    finally:
        with run_server.client() as http:
            http.post("/v1/sandbox-config/local", json={"timeout": 60})
    assert result.status == "error" and "TimeoutError" in result.tool_return


def test_output_is_truncated_for_real(letta):
    source = 'def big() -> str:\n    """Return a lot."""\n    return "x" * 10000\n'
    result = letta.tools.run_tool_from_source(source_code=source, args={})
    assert result.tool_return.startswith("x" * 6000)
    assert result.tool_return.endswith("[NOTE: function output was truncated since it exceeded the character limit: 10000 > 6000]")
    assert len(result.tool_return) < 6200


def test_bad_source_is_400(run_server):
    with run_server.client() as http:
        response = http.post("/v1/tools/run", json={"source_code": "def broken(:", "args": {}})
        assert response.status_code == 400 and "line 1" in response.json()["detail"]
        undocumented = http.post("/v1/tools/run", json={"source_code": "def f(x: int) -> int:\n    return x\n", "args": {}})
        assert undocumented.status_code == 400 and "docstring" in undocumented.json()["detail"]
        wrong_type = http.post("/v1/tools/run", json={"source_code": ADD, "args": {}, "source_type": "javascript"})
        assert wrong_type.status_code == 400
