"""Services: the work a route asks for. Each owns its transactions and side effects (cache invalidation, MCP
sessions) and is the only caller of the repositories for its domain. Routers get them through
`toolhub.server.deps`; `create_app(settings, services=...)` lets tests put fakes in their place."""

from dataclasses import dataclass

from toolhub.agent.llm.providers import Providers
from toolhub.cache import TTLCache
from toolhub.services.callbacks import Callbacks
from toolhub.services.agents import AgentService
from toolhub.services.blocks import BlockService
from toolhub.services.changes import ToolChanges
from toolhub.services.mcp_profiles import MCPProfileService
from toolhub.services.mcp_servers import MCPServerService
from toolhub.services.messages import MessageService
from toolhub.services.runs import RunService
from toolhub.services.sandbox_configs import SandboxConfigService
from toolhub.services.tools import ToolService
from toolhub.services.users import UserService
from toolhub.store.db import Database
from toolhub.store.repositories import Actor
from toolhub.tools.executor import ToolExecutor
from toolhub.tools.mcp_hub import MCPHub

__all__ = [
    "AgentService",
    "BlockService",
    "MCPProfileService",
    "MCPServerService",
    "MessageService",
    "RunService",
    "SandboxConfigService",
    "Services",
    "ToolChanges",
    "ToolService",
    "UserService",
]


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything a request may need beyond its own arguments, built once per app."""

    db: Database
    executor: ToolExecutor
    """The one door for tool calls."""
    mcp_hub: MCPHub
    tools: ToolService
    sandbox_configs: SandboxConfigService
    mcp_servers: MCPServerService
    mcp_profiles: MCPProfileService
    """What the MCP endpoint serves, and its profiles."""
    tool_changes: ToolChanges
    """Told by the services after every write that changes what tools an organization has."""
    users: UserService
    agents: AgentService
    blocks: BlockService
    messages: MessageService
    """Message requests: the step loop, streaming, background runs, cancellation, the message history."""
    runs: RunService
    callbacks: Callbacks
    actors: TTLCache[str, Actor]
    """Who a user id acts as; shared with authentication, dropped by `users` on delete."""
    providers: Providers
    """The LLM providers configured from the environment at start-up."""
