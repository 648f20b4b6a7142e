"""FastAPI dependencies shared by the routers: who is calling, and the services they call.

Every dependency is `async def`, even one that only returns an attribute: FastAPI runs a plain `def` dependency on
a worker thread, a thread hop per dependency per request."""

from typing import Annotated

from fastapi import Depends, Request

from toolhub.agent.llm.providers import Providers
from toolhub.server.auth import Principal, authenticate, require_admin, resolve_actor
from toolhub.services import (
    AgentService,
    BlockService,
    MessageService,
    RunService,
    MCPProfileService,
    MCPServerService,
    SandboxConfigService,
    Services,
    ToolService,
    UserService,
)
from toolhub.store.db import Database
from toolhub.store.repositories import Actor
from toolhub.tools.executor import ToolExecutor


async def _actor(request: Request, principal: Annotated[Principal, Depends(authenticate)]) -> Actor:
    return await resolve_actor(request, principal)


async def _admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    require_admin(principal)
    return principal


async def _services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(_services)]


async def _database(services: ServicesDep) -> Database:
    return services.db


async def _executor(services: ServicesDep) -> ToolExecutor:
    return services.executor


async def _tools(services: ServicesDep) -> ToolService:
    return services.tools


async def _sandbox_configs(services: ServicesDep) -> SandboxConfigService:
    return services.sandbox_configs


async def _mcp_servers(services: ServicesDep) -> MCPServerService:
    return services.mcp_servers


async def _mcp_profiles(services: ServicesDep) -> MCPProfileService:
    return services.mcp_profiles


async def _users(services: ServicesDep) -> UserService:
    return services.users


async def _agents(services: ServicesDep) -> AgentService:
    return services.agents


async def _blocks(services: ServicesDep) -> BlockService:
    return services.blocks


async def _messages(services: ServicesDep) -> MessageService:
    return services.messages


async def _runs(services: ServicesDep) -> RunService:
    return services.runs


def _providers(services: ServicesDep) -> Providers:
    return services.providers


CurrentActor = Annotated[Actor, Depends(_actor)]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
AdminPrincipal = Annotated[Principal, Depends(_admin)]
Db = Annotated[Database, Depends(_database)]
Executor = Annotated[ToolExecutor, Depends(_executor)]
Tools = Annotated[ToolService, Depends(_tools)]
SandboxConfigs = Annotated[SandboxConfigService, Depends(_sandbox_configs)]
MCPServers = Annotated[MCPServerService, Depends(_mcp_servers)]
MCPProfiles = Annotated[MCPProfileService, Depends(_mcp_profiles)]
Users = Annotated[UserService, Depends(_users)]
Agents = Annotated[AgentService, Depends(_agents)]
Blocks = Annotated[BlockService, Depends(_blocks)]
Messages = Annotated[MessageService, Depends(_messages)]
Runs = Annotated[RunService, Depends(_runs)]
LLMProviders = Annotated[Providers, Depends(_providers)]
