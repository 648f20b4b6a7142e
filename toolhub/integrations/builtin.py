"""Dispatch for the `letta_builtin` tools, called by the agent loop and by `POST /v1/tools/{id}/run`."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from toolhub.integrations.run_code import run_code
from toolhub.integrations.tavily import web_search

BUILTIN_TOOLS: dict[str, Callable[..., Awaitable[str]]] = {"web_search": web_search, "run_code": run_code}


async def call_builtin(name: str, secrets: Mapping[str, str], args: Mapping[str, Any]) -> str:
    """Run one built-in tool; bad arguments raise TypeError, failures the model should read raise ValueError."""
    return await BUILTIN_TOOLS[name](secrets, **args)
