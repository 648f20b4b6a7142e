"""What an agent is made with when the request does not say: a name, its model and embedding configs from handles,
the base tools of its type and the base tool rules. Pure functions: no database, no provider is asked."""

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from toolhub.errors import InvalidInputError
from toolhub.tools.rules import ContinueToolRule, TerminalToolRule, dump_rule

DEFAULT_CONTEXT_WINDOW = 128_000
DEFAULT_EMBEDDING_DIM = 1536
DEFAULT_EMBEDDING_CHUNK_SIZE = 300

BASE_TOOLS: Mapping[str, tuple[str, ...]] = {
    "memgpt_agent": ("send_message", "conversation_search", "core_memory_append", "core_memory_replace"),
    "memgpt_v2_agent": ("send_message", "conversation_search", "memory_insert", "memory_replace"),
    "letta_v1_agent": ("conversation_search", "memory_insert", "memory_replace"),
    "react_agent": (),
    "workflow_agent": (),
    "sleeptime_agent": ("memory_replace", "memory_insert", "memory_rethink", "memory_finish_edits"),
}
"""The base tools `include_base_tools` attaches, by agent type; other types get memgpt_agent's."""
MULTI_AGENT_TOOLS = (
    "send_message_to_agent_and_wait_for_reply",
    "send_message_to_agent_async",
    "send_message_to_agents_matching_tags",
)
EXIT_LOOP_TOOLS = frozenset({"send_message", "send_message_to_agent_async", "memory_finish_edits"})
"""Base tools that end the turn (`exit_loop`) under `include_base_tool_rules`."""
CONTINUE_LOOP_TOOLS = frozenset(
    {
        "conversation_search",
        "archival_memory_insert",
        "archival_memory_search",
        "core_memory_append",
        "core_memory_replace",
        "memory_insert",
        "memory_replace",
        "memory_rethink",
    }
)
"""Base tools after which the loop goes on (`continue_loop`) under `include_base_tool_rules`."""

_ADJECTIVES = ("amber", "brisk", "calm", "clever", "eager", "gentle", "lucid", "nimble", "quiet", "steady", "vivid")
_NOUNS = ("badger", "comet", "falcon", "harbor", "lantern", "meadow", "otter", "quill", "river", "sparrow", "summit")


def random_name() -> str:
    """A readable name for an agent created without one (Letta names them at random too)."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.token_hex(2)}"


def parse_handle(handle: str) -> tuple[str, str]:
    """`provider/model` as (provider, model); the model part may hold more slashes (`openrouter/meta/llama`).

    Raises:
        InvalidInputError: the handle is not `provider/model`.
    """
    provider, _, model = handle.partition("/")
    if not provider.strip() or not model.strip():
        raise InvalidInputError(
            f"Invalid model handle {handle!r}: expected 'provider/model', e.g. 'openai/gpt-4o-mini'"
        )
    return provider, model


def llm_config(handle: str, *, context_window: int | None = None, max_tokens: int | None = None) -> dict[str, Any]:
    """Letta's `llm_config` for a model handle, made without asking the provider."""
    provider, model = parse_handle(handle)
    return {
        "model": model,
        "model_endpoint_type": provider,
        "model_endpoint": None,
        "provider_name": provider,
        "provider_category": "base",
        "model_wrapper": None,
        "context_window": context_window or DEFAULT_CONTEXT_WINDOW,
        "put_inner_thoughts_in_kwargs": True,
        "handle": handle,
        "temperature": 0.7,
        "max_tokens": max_tokens,
        "enable_reasoner": False,
        "reasoning_effort": None,
        "max_reasoning_tokens": 0,
        "frequency_penalty": None,
        "parallel_tool_calls": False,
    }


def embedding_config(handle: str) -> dict[str, Any]:
    """Letta's `embedding_config` for an embedding handle, made without asking the provider."""
    provider, model = parse_handle(handle)
    return {
        "embedding_endpoint_type": provider,
        "embedding_endpoint": None,
        "embedding_model": model,
        "embedding_dim": DEFAULT_EMBEDDING_DIM,
        "embedding_chunk_size": DEFAULT_EMBEDDING_CHUNK_SIZE,
        "handle": handle,
        "batch_size": 32,
        "azure_endpoint": None,
        "azure_version": None,
        "azure_deployment": None,
    }


def handle_of_llm_config(config: Mapping[str, Any]) -> str:
    """The handle a client-sent `llm_config` stands for: its `handle`, else `<model_endpoint_type>/<model>`."""
    return config.get("handle") or f"{config['model_endpoint_type']}/{config['model']}"


def handle_of_embedding_config(config: Mapping[str, Any]) -> str:
    return config.get("handle") or f"{config['embedding_endpoint_type']}/{config['embedding_model']}"


def base_tools(agent_type: str, *, include_base_tools: bool, include_multi_agent_tools: bool) -> list[str]:
    names = list(BASE_TOOLS.get(agent_type, BASE_TOOLS["memgpt_agent"])) if include_base_tools else []
    return (names + list(MULTI_AGENT_TOOLS)) if include_multi_agent_tools else names


def base_tool_rules(tool_names: Iterable[str], given: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Letta's rules for the base tools among `tool_names` (exit_loop or continue_loop, with their default prompt
    templates), leaving out any the client already gave."""
    rules: list[dict[str, Any]] = []
    present = {(rule.get("type"), rule.get("tool_name")) for rule in given}
    for name in tool_names:
        rule = (
            TerminalToolRule(tool_name=name) if name in EXIT_LOOP_TOOLS
            else ContinueToolRule(tool_name=name) if name in CONTINUE_LOOP_TOOLS
            else None
        )
        if rule is not None and (rule.type, name) not in present:
            rules.append(dump_rule(rule))
    return rules
