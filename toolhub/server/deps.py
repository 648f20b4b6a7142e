"""FastAPI dependencies shared by the routers: who is calling, and the services they call."""

from typing import Annotated

from fastapi import Depends, Request

from toolhub.agent.llm.providers import Providers
from toolhub.server.auth import Principal, authenticate, require_admin, resolve_actor
from toolhub.services import (
    AgentService,
    BlockService,
    MessageService,
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


def _services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(_services)]


def _database(services: ServicesDep) -> Database:
    return services.db


def _executor(services: ServicesDep) -> ToolExecutor:
    return services.executor


def _tools(services: ServicesDep) -> ToolService:
    return services.tools


def _sandbox_configs(services: ServicesDep) -> SandboxConfigService:
    return services.sandbox_configs


def _mcp_servers(services: ServicesDep) -> MCPServerService:
    return services.mcp_servers


def _users(services: ServicesDep) -> UserService:
    return services.users


def _agents(services: ServicesDep) -> AgentService:
    return services.agents


def _blocks(services: ServicesDep) -> BlockService:
    return services.blocks


def _messages(services: ServicesDep) -> MessageService:
    return services.messages


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
Users = Annotated[UserService, Depends(_users)]
Agents = Annotated[AgentService, Depends(_agents)]
Blocks = Annotated[BlockService, Depends(_blocks)]
Messages = Annotated[MessageService, Depends(_messages)]
LLMProviders = Annotated[Providers, Depends(_providers)]
