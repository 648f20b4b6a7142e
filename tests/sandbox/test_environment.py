"""The one precedence rule for a tool's environment variables."""

import pytest

from toolhub.sandbox.base import merge_environment

SERVER = {
    "PATH": "/usr/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "HOME": "/root",
    "OPENAI_API_KEY": "sk-server",
    "ANTHROPIC_API_KEY": "sk-ant",
    "TOOLHUB_DATABASE_URL": "postgresql://u:p@db/x",
    "TOOLHUB_SERVER_PASSWORD": "pw",
    "LETTA_PG_URI": "postgresql://u:p@db/y",
    "E2B_API_KEY": "e2b",
}


@pytest.mark.parametrize(
    ("config", "agent", "call", "expected"),
    [
        ({}, {}, {}, {}),
        ({"K": "config"}, {}, {}, {"K": "config"}),
        ({"K": "config"}, {"K": "agent"}, {}, {"K": "agent"}),
        ({"K": "config"}, {"K": "agent"}, {"K": "call"}, {"K": "call"}),
        ({"K": "config"}, {}, {"K": "call"}, {"K": "call"}),
        ({"A": "config"}, {"B": "agent"}, {"C": "call"}, {"A": "config", "B": "agent", "C": "call"}),
        ({"PATH": "/config/bin"}, {}, {}, {"PATH": "/config/bin"}),
        ({}, {"OPENAI_API_KEY": "sk-agent"}, {}, {"OPENAI_API_KEY": "sk-agent"}),
    ],
    ids=[
        "none",
        "config",
        "agent-over-config",
        "call-over-all",
        "call-over-config",
        "disjoint",
        "over-server",
        "own-key",
    ],
)
def test_later_layers_win(config: dict, agent: dict, call: dict, expected: dict) -> None:
    server_part = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    assert merge_environment(SERVER, config, agent, call) == {**server_part, **expected}


def test_only_the_allow_list_comes_from_the_server() -> None:
    assert merge_environment(SERVER) == {"PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}


def test_missing_layers_and_server_variables() -> None:
    assert merge_environment({}, None, None, {"X": "1"}) == {"X": "1"}
