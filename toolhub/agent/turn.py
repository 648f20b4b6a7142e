"""What one message request needs of its agent, loaded once when the request starts, and what it builds up."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from toolhub.agent.approvals import PendingApproval
from toolhub.agent.llm.base import Usage
from toolhub.agent.prompt import BlockView
from toolhub.agent.tool_schemas import INNER_THOUGHTS, THINKING, OfferedTool
from toolhub.tools.rules import RuleSet
from toolhub.tools.spec import ToolSpec

HEARTBEAT_LOOPS = frozenset({"memgpt_agent", "memgpt_v2_agent"})
"""Letta 0.8's loops: every answer is a tool call, `send_message` speaks, heartbeats chain calls."""
STRICT_PROVIDERS = frozenset({"openai", "openai-proxy"})


@dataclass(frozen=True, kw_only=True)
class AgentTool:
    spec: ToolSpec
    offered: OfferedTool
    requires_approval: bool = False
    """The tool's `default_requires_approval`, or this agent's own choice for it."""
    parallel: bool = False
    """`enable_parallel_execution`."""


@dataclass(frozen=True, kw_only=True)
class AgentView:
    id: str
    name: str
    agent_type: str
    system: str
    handle: str
    """The model handle, `provider/model`."""
    llm_config: Mapping[str, Any] = field(default_factory=dict)
    model_settings: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    rules: RuleSet = field(default_factory=RuleSet)
    tools: Mapping[str, AgentTool] = field(default_factory=dict)
    blocks: tuple[BlockView, ...] = ()
    secrets: Mapping[str, str] = field(default_factory=dict)
    tool_sandbox: str | None = None
    timezone: str = "UTC"
    pending_approval: PendingApproval | None = None

    @property
    def heartbeats(self) -> bool:
        return self.agent_type in HEARTBEAT_LOOPS

    @property
    def thoughts_key(self) -> str | None:
        """The argument the model writes its reasoning into, when the agent type asks for one."""
        if not self.heartbeats or not self.llm_config.get("put_inner_thoughts_in_kwargs", True):
            return None
        return INNER_THOUGHTS if self.agent_type == "memgpt_agent" else THINKING

    @property
    def strict(self) -> bool:
        return self.handle.split("/", 1)[0] in STRICT_PROVIDERS

    @property
    def parallel_tool_calls(self) -> bool:
        if self.heartbeats:
            return False
        value = self.model_settings.get("parallel_tool_calls", self.llm_config.get("parallel_tool_calls"))
        return bool(value)


@dataclass
class UsageTotals:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    step_count: int = 0
    context_tokens: int | None = None

    def add(self, usage: Usage) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.total_tokens += usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
        self.cached_input_tokens += usage.cached_input_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        self.step_count += 1
        self.context_tokens = usage.prompt_tokens
