"""Letta's multi-agent tools, run in-process: an agent messages another agent of its organization and (for two of
them) waits for the reply.

The agents a conversation passes through are carried along it (a context variable, inherited by the runs it
starts), so an agent that would message itself — directly or round a cycle — is refused, as is a chain deeper
than `MAX_DEPTH`; a reply that takes longer than the timeout is an error the calling model reads. Targets are
looked up as the calling user, so an agent never reaches another organization's agents.
"""

import asyncio
import contextvars
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from toolhub.store.repositories import Actor

MAX_DEPTH = 4
"""Agents in one chain of waiting conversations, the first caller included."""
DEFAULT_TIMEOUT_S = 300.0

CHAIN: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("toolhub_agent_chain", default=())
"""The agents whose turns are waiting on the current one, outermost first, then the current agent."""

INCOMING = (
    "[Incoming message from agent with ID '{sender}' - to reply to this message, make sure to use the "
    "'send_message' at the end, and the system will notify the sender of your response] {message}"
)


MULTI_AGENT_TOOLS = frozenset(
    {"send_message_to_agent_and_wait_for_reply", "send_message_to_agents_matching_tags", "send_message_to_agent_async"}
)


class MultiAgentError(ValueError):
    """A message the guard refuses or a target that cannot be reached; the calling model reads why."""


class AgentMessenger(Protocol):
    """What the tools need of the server: run a turn of another agent, and find agents by tags."""

    async def converse(self, actor: Actor, agent_id: str, message: str) -> list[str]:
        """Run a turn of `agent_id` on a system-role `message`; its assistant messages."""
        ...

    async def post(self, actor: Actor, agent_id: str, message: str) -> str:
        """Start a background turn of `agent_id`; its run id."""
        ...

    async def agents_with_tags(self, actor: Actor, match_all: Sequence[str], match_some: Sequence[str]) -> list[str]:
        ...


@dataclass(frozen=True)
class MultiAgentTools:
    messenger: AgentMessenger
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def call(self, name: str, actor: Actor, sender: str, args: dict) -> str:
        """Run the tool `name` (one of `MULTI_AGENT_TOOLS`) for the agent `sender`. Raises MultiAgentError (or
        TypeError for arguments that do not fit), which the model reads."""
        if name == "send_message_to_agent_and_wait_for_reply":
            return await self.wait_for_reply(actor, sender, **args)
        if name == "send_message_to_agents_matching_tags":
            return await self.broadcast(actor, sender, **args)
        return await self.send_async(actor, sender, **args)

    async def wait_for_reply(self, actor: Actor, sender: str, message: str, other_agent_id: str) -> str:
        return json.dumps(await self._reply(actor, sender, message, other_agent_id), ensure_ascii=False)

    async def broadcast(
        self, actor: Actor, sender: str, message: str, match_all: list[str], match_some: list[str]
    ) -> str:
        """Every agent with all of `match_all` and one of `match_some` (the sender excepted), concurrently."""
        targets = [a for a in await self.messenger.agents_with_tags(actor, match_all, match_some) if a != sender]
        if not targets:
            return "No agents matched the tags."
        replies = await asyncio.gather(*(self._reply(actor, sender, message, target, strict=False) for target in targets))
        return json.dumps(replies, ensure_ascii=False)

    async def send_async(self, actor: Actor, sender: str, message: str, other_agent_id: str) -> str:
        self._check(sender, other_agent_id)
        await self.messenger.post(actor, other_agent_id, INCOMING.format(sender=sender, message=message))
        return "Successfully sent message"

    async def _reply(
        self, actor: Actor, sender: str, message: str, target: str, *, strict: bool = True
    ) -> dict[str, object]:
        try:
            self._check(sender, target)
            texts = await asyncio.wait_for(
                self.messenger.converse(actor, target, INCOMING.format(sender=sender, message=message)),
                self.timeout_s,
            )
        except TimeoutError:
            error: str = f"Agent {target} did not reply within {self.timeout_s:g} s"
        except MultiAgentError as exc:
            if strict:
                raise
            error = str(exc)
        else:
            return {"agent_id": target, "response": texts or ["<no response>"]}
        if strict:
            raise MultiAgentError(error)
        return {"agent_id": target, "error": error}

    @staticmethod
    def _check(sender: str, target: str) -> None:
        chain = CHAIN.get() or (sender,)
        if target in chain:
            path = " -> ".join((*chain, target))
            raise MultiAgentError(f"Refused: messaging {target} would make a cycle of waiting agents ({path})")
        if len(chain) >= MAX_DEPTH:
            raise MultiAgentError(f"Refused: the chain of waiting agents is already {len(chain)} deep (at most {MAX_DEPTH})")
