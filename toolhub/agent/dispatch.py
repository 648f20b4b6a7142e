"""The tool calls of one model answer, in call order: each is checked against the tool rules first (a call they
forbid never runs and never waits for approval: the model reads `[ToolConstraintError] …`), then it runs, or it
waits for the client (a tool that needs approval, a client-side tool). Once one call waits, the calls after it wait
too, so a step's calls keep their order.

Calls run one after the other, each checked against the history that includes the previous one's output; they run
concurrently (`parallel`) when the loop says the model config and every called tool allow it.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from toolhub.agent.approvals import PendingCall
from toolhub.agent.llm.base import ToolCallRequest
from toolhub.agent.turn import AgentTool
from toolhub.errors import ToolInfrastructureError
from toolhub.tools.rules import CallRecord, ConditionalToolRule, NoAllowedToolsError, RuleSet

VIOLATION_REASON = "Continuing: tool rule violation."


@dataclass(kw_only=True)
class ToolResult:
    call: ToolCallRequest
    status: Literal["success", "error"]
    text: str
    stdout: str | Sequence[str] = ""
    stderr: str | Sequence[str] = ""
    heartbeat: bool = False
    ran: bool = True
    """False when the call did not happen (forbidden by the rules, unknown tool, denied): it is not in the
    history the rules see."""
    reason: str | None = None
    """Why the loop goes on after it, when that is not the usual reason (heartbeat loops)."""


class CallHistory:
    """This request's calls as the rules see them, with the call ids, so outputs of calls that waited can be
    filled in (or the calls dropped) when the client answers."""

    def __init__(self, entries: Iterable[Sequence[str | None]] = ()) -> None:
        self._entries: list[tuple[str, str | None, str | None]] = [(e[0] or "", e[1], e[2]) for e in entries]

    def records(self) -> list[CallRecord]:
        return [CallRecord(name, output) for name, output, _ in self._entries]

    def entries(self) -> list[tuple[str, str | None, str | None]]:
        return list(self._entries)

    def add(self, name: str, call_id: str, output: str | None = None) -> None:
        self._entries.append((name, output, call_id))

    def set_output(self, call_id: str, output: str) -> None:
        self._entries = [(n, output if i == call_id else o, i) for n, o, i in self._entries]

    def drop(self, call_id: str) -> None:
        self._entries = [entry for entry in self._entries if entry[2] != call_id]


RunCall = Callable[[ToolCallRequest], Awaitable[ToolResult]]


@dataclass
class Dispatched:
    results: list[ToolResult] = field(default_factory=list)
    """The calls decided now, in call order."""
    waiting: list[PendingCall] = field(default_factory=list)
    failure: ToolInfrastructureError | None = None


@dataclass(frozen=True, kw_only=True)
class CallContext:
    rules: RuleSet
    tools: Mapping[str, AgentTool]
    client_tools: Collection[str]
    parallel: bool

    @property
    def available(self) -> frozenset[str]:
        return frozenset(self.tools) | frozenset(self.client_tools)

    def needs_client(self, name: str) -> Literal["approval", "client"] | None:
        if name in self.client_tools:
            return "client"
        tool = self.tools.get(name)
        if self.rules.requires_approval(name) or (tool is not None and tool.requires_approval):
            return "approval"
        return None


async def dispatch(
    calls: Sequence[ToolCallRequest], context: CallContext, history: CallHistory, run: RunCall
) -> Dispatched:
    """Decide and run `calls`; `history` gets every call the rules let through."""
    done = Dispatched()
    batch: list[ToolCallRequest] = []
    for call in calls:
        if call.name not in context.available:
            done.results.append(unknown_tool(call, context.available))
            continue
        records = history.records()
        violation = _violation(context, records, call.name)
        if violation is not None:
            rejected = ToolResult(call=call, status="error", text=violation, ran=False, reason=VIOLATION_REASON)
            done.results.append(rejected)
            continue
        call = prefilled(call, context.rules.prefilled_args(call.name, records))
        kind = context.needs_client(call.name)
        if kind is not None or done.waiting:
            done.waiting.append(PendingCall(id=call.id, name=call.name, arguments=call.arguments, kind=kind or "held"))
            history.add(call.name, call.id)
        elif context.parallel:
            batch.append(call)
            history.add(call.name, call.id)
        else:
            try:
                result = await run(call)
            except ToolInfrastructureError as exc:
                done.failure = exc
                done.results.append(ToolResult(call=call, status="error", text=f"Error: {exc.detail}"))
                return done
            done.results.append(result)
            history.add(call.name, call.id, result.text)
    if batch:
        await _run_together(batch, history, run, done)
    order = {call.id: index for index, call in enumerate(calls)}
    done.results.sort(key=lambda result: order.get(result.call.id, len(order)))
    return done


async def run_all(
    calls: Sequence[ToolCallRequest], history: CallHistory, run: RunCall, *, parallel: bool
) -> tuple[list[ToolResult], ToolInfrastructureError | None]:
    """Run calls already let through (approved ones, or those that waited behind them), in order or together."""
    done = Dispatched()
    if parallel and len(calls) > 1:
        await _run_together(list(calls), history, run, done)
        return done.results, done.failure
    for call in calls:
        try:
            result = await run(call)
        except ToolInfrastructureError as exc:
            done.results.append(ToolResult(call=call, status="error", text=f"Error: {exc.detail}"))
            return done.results, exc
        done.results.append(result)
        history.set_output(call.id, result.text)
    return done.results, None


def may_run_together(calls: Sequence[ToolCallRequest], tools: Mapping[str, AgentTool], rules: RuleSet) -> bool:
    """Every called tool allows parallel execution, and no call but the last is a tool whose output a conditional
    rule must read before the next call can be checked."""
    known = [call for call in calls if call.name in tools]
    if len(known) < 2 or not all(tools[call.name].parallel for call in known):
        return False
    branching = {rule.tool_name for rule in rules.of(ConditionalToolRule)}
    return not any(call.name in branching for call in calls[:-1])


def unknown_tool(call: ToolCallRequest, available: Collection[str]) -> ToolResult:
    known = ", ".join(sorted(available)) or "none"
    text = (f"Error executing function {call.name}: ValueError: No tool named {call.name!r} is attached to this agent "
            f"(tools: {known})")
    return ToolResult(call=call, status="error", text=text, ran=False)


def prefilled(call: ToolCallRequest, args: Mapping[str, object]) -> ToolCallRequest:
    """The call with the rules' prefilled arguments over the model's (arguments that are no JSON object stay)."""
    if not args:
        return call
    try:
        parsed = json.loads(call.arguments or "{}")
    except ValueError:
        return call
    if not isinstance(parsed, dict):
        return call
    return replace(call, arguments=json.dumps({**parsed, **args}, ensure_ascii=False))


def _violation(context: CallContext, history: Sequence[CallRecord], name: str) -> str | None:
    try:
        return context.rules.decide(history, context.available).violation(name)
    except NoAllowedToolsError as exc:
        return f"[ToolConstraintError] Cannot call {name}: {exc.detail}"


async def _run_together(batch: list[ToolCallRequest], history: CallHistory, run: RunCall, done: Dispatched) -> None:
    outcomes = await asyncio.gather(*(run(call) for call in batch), return_exceptions=True)
    for call, outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, ToolInfrastructureError):
            done.failure = done.failure or outcome
            done.results.append(ToolResult(call=call, status="error", text=f"Error: {outcome.detail}"))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            done.results.append(outcome)
            history.set_output(call.id, outcome.text)
