"""Server configs in Letta's wire shapes, Claude-Desktop config files, secret masking, address refusal."""

import json
from pathlib import Path

import pytest

from toolhub.mcp_bridge import (
    MCPConfigError,
    SSEServerConfig,
    StdioServerConfig,
    StreamableHTTPServerConfig,
    masked_config,
    parse_mcp_config,
    parse_server_config,
)
from toolhub.mcp_bridge.config import redact

SAMPLES = Path(__file__).parents[1] / "fixtures" / "letta-samples"


def test_letta_add_server_body_without_type_is_stdio_and_round_trips() -> None:
    sample = json.loads((SAMPLES / "mcp_add_server_time_response.json").read_text())
    config = parse_server_config(sample["request_body"])
    assert isinstance(config, StdioServerConfig)
    assert config.args == ["--local-timezone", "UTC"]
    for entry in sample["body"]:
        assert masked_config(parse_server_config(entry)) == entry


def test_each_type_parses_to_its_model() -> None:
    sse = parse_server_config({"server_name": "a", "type": "sse", "server_url": "http://127.0.0.1:1/sse"})
    http = parse_server_config({"server_name": "b", "type": "streamable_http", "server_url": "https://example.com/mcp"})
    legacy = parse_server_config({"server_name": "c", "server_url": "http://localhost:9/sse"})
    assert isinstance(sse, SSEServerConfig)
    assert isinstance(http, StreamableHTTPServerConfig)
    assert isinstance(legacy, SSEServerConfig)


@pytest.mark.parametrize(
    "body",
    [
        {"server_name": "x", "type": "stdio", "command": "run", "args": "--flag value"},
        {"server_name": "x", "type": "stdio", "command": ""},
        {"server_name": "", "type": "stdio", "command": "run"},
        {"server_name": "a/b", "type": "stdio", "command": "run"},
        {"server_name": "x", "type": "websocket", "server_url": "ws://127.0.0.1/"},
        {"server_name": "x", "type": "sse", "server_url": "ftp://127.0.0.1/"},
        {"server_name": "x", "type": "stdio", "command": "run", "env": {"A=B": "c"}},
    ],
)
def test_invalid_bodies_are_refused_with_a_message_naming_the_field(body: dict[str, object]) -> None:
    with pytest.raises(MCPConfigError) as caught:
        parse_server_config(body)
    assert caught.value.detail["code"] == "MCPConfigError"
    assert "Invalid MCP server config" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.10.1:8080/sse",
        "http://[fe80::1]/mcp",
        "http://[fd00:ec2::254]/mcp",
        "http://100.100.100.200/mcp",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./x",
        "http://[::ffff:169.254.169.254]/sse",
    ],
)
def test_link_local_and_metadata_urls_are_refused(url: str) -> None:
    with pytest.raises(MCPConfigError, match="refused"):
        parse_server_config({"server_name": "evil", "type": "streamable_http", "server_url": url})


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/sse", "http://localhost/mcp", "http://[::1]:9/mcp", "http://10.0.0.5/mcp"]
)
def test_loopback_and_private_urls_are_allowed(url: str) -> None:
    assert parse_server_config({"server_name": "ok", "type": "sse", "server_url": url}).server_url == url


def test_masking_hides_secret_values_and_keeps_keys() -> None:
    stdio = StdioServerConfig(server_name="gh", command="gh-mcp", env={"GITHUB_TOKEN": "ghp_secret"}, cwd="/srv")
    remote = StreamableHTTPServerConfig(
        server_name="r",
        server_url="https://user:pw@example.com/mcp?api_key=k123&region=eu",
        auth_header="Authorization",
        auth_token="Bearer s3cr3t-tok",
        custom_headers={"X-Api-Key": "abc"},
    )
    shown = json.dumps([masked_config(stdio), masked_config(remote)])
    for secret in ("ghp_secret", "pw@", "k123", "s3cr3t-tok", "abc"):
        assert secret not in shown
    assert masked_config(stdio)["env"] == {"GITHUB_TOKEN": "****"}
    assert masked_config(stdio)["cwd"] == "/srv"
    assert masked_config(remote)["custom_headers"] == {"X-Api-Key": "****"}
    assert masked_config(remote)["server_url"].startswith("https://user:****@example.com/mcp?api_key=****")


def test_auth_headers_add_bearer_to_a_bare_token() -> None:
    bare = SSEServerConfig(
        server_name="a", server_url="http://127.0.0.1/sse", auth_token="t0k", custom_headers={"X": "1"}
    )
    custom = SSEServerConfig(server_name="b", server_url="http://127.0.0.1/sse", auth_header="X-Key", auth_token="k")
    assert bare.headers() == {"X": "1", "Authorization": "Bearer t0k"}
    assert custom.headers() == {"X-Key": "k"}


def test_header_references_resolve_at_connect_time_and_name_a_missing_variable() -> None:
    config = StreamableHTTPServerConfig(
        server_name="r", server_url="http://127.0.0.1/mcp", auth_token="${TOKEN}", custom_headers={"X": "a-${TEAM}"}
    )
    assert config.headers({"TOKEN": "t0k", "TEAM": "blue"}) == {"X": "a-blue", "Authorization": "Bearer t0k"}
    with pytest.raises(MCPConfigError, match="TEAM"):
        config.headers({"TOKEN": "t0k"})
    assert config.headers({}, strict=False)["X"] == "a-${TEAM}"
    assert masked_config(config)["auth_token"] == "****"


def test_config_file_loads_every_entry_kind_and_expands_env() -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "time": {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"], "cwd": "/tmp"},
                "gh": {"command": "gh-mcp", "env": {"TOKEN": "${GH_TOKEN}"}},
                "legacy": {"url": "http://127.0.0.1:9/sse"},
                "modern": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer ${API_KEY}"}},
                "typed": {"type": "sse", "url": "http://127.0.0.1:9/events"},
                "dashed": {"transport": "streamable-http", "url": "http://127.0.0.1:9/"},
                "http": {"type": "http", "url": "http://127.0.0.1:9/"},
                "off": {"command": "never", "disabled": True},
            }
        }
    )
    parsed = parse_mcp_config(text, environ={"GH_TOKEN": "ghp_1", "API_KEY": "k"})
    assert parsed.errors == []
    servers = parsed.servers
    assert set(servers) == {"time", "gh", "legacy", "modern", "typed", "dashed", "http"}
    assert servers["gh"] == StdioServerConfig(server_name="gh", command="gh-mcp", env={"TOKEN": "ghp_1"})
    assert servers["time"].cwd == "/tmp"
    assert isinstance(servers["legacy"], SSEServerConfig)
    assert isinstance(servers["modern"], StreamableHTTPServerConfig)
    assert servers["modern"].custom_headers == {"Authorization": "Bearer k"}
    assert isinstance(servers["typed"], SSEServerConfig)
    assert isinstance(servers["dashed"], StreamableHTTPServerConfig)
    assert isinstance(servers["http"], StreamableHTTPServerConfig)


def test_config_file_reports_broken_entries_by_name_and_loads_the_rest() -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "good": {"command": "ok"},
                "missing_var": {"command": "x", "env": {"K": "${NOT_SET_ANYWHERE}"}},
                "unknown_key": {"command": "x", "timeout": 5},
                "both_kinds": {"command": "x", "url": "http://127.0.0.1/"},
                "neither": {"args": ["a"]},
                "bad_transport": {"url": "http://127.0.0.1/", "type": "websocket"},
                "metadata": {"url": "http://169.254.169.254/"},
                "not_object": ["command"],
                "bad_args": {"command": "x", "args": "--a --b"},
            }
        }
    )
    parsed = parse_mcp_config(text, environ={})
    assert set(parsed.servers) == {"good"}
    errors = dict(parsed.errors)
    assert set(errors) == {
        "missing_var",
        "unknown_key",
        "both_kinds",
        "neither",
        "bad_transport",
        "metadata",
        "not_object",
        "bad_args",
    }
    assert "NOT_SET_ANYWHERE is not set" in errors["missing_var"]
    assert "timeout" in errors["unknown_key"]
    assert "refused" in errors["metadata"]


@pytest.mark.parametrize("text", ["{not json", "[]", '{"servers": {}}', '{"mcpServers": []}'])
def test_a_broken_config_file_is_one_error(text: str) -> None:
    with pytest.raises(MCPConfigError):
        parse_mcp_config(text, environ={})


def test_an_empty_config_file_object_has_no_servers() -> None:
    assert parse_mcp_config("{}", environ={}).servers == {}


def test_redact_replaces_secret_values_in_text() -> None:
    remote = SSEServerConfig(
        server_name="r",
        server_url="http://u:hunter22@127.0.0.1/sse?key=abcdef123",
        auth_token="tok-123456",
        custom_headers={"X-Key": "header-secret"},
    )
    text = "GET http://u:hunter22@127.0.0.1/sse?key=abcdef123 sent Bearer tok-123456 and header-secret"
    assert redact(text, remote) == "GET http://u:****@127.0.0.1/sse?key=**** sent **** and ****"
    stdio = StdioServerConfig(server_name="s", command="x", env={"TOKEN": "ghp_abcdef", "DEBUG": "1"})
    assert redact("token ghp_abcdef, debug 1", stdio) == "token ****, debug 1"
