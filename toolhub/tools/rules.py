"""Tool rules: Letta's rule types (their JSON shapes, `type` discriminators and default prompt templates) and a
pure solver over them.

The solver knows nothing of HTTP, storage or LLMs. From the rules, the calls made so far in this request (each
with its output once known) and the tools there are, `solve` answers which tools may be offered next, whether one
must be forced, which required tools are still uncalled, and whether a proposed call is allowed (and if not, which
rules it breaks). `RuleSet.flow` says whether a call ends the turn or must be followed by another step. A request
starts with an empty history, so `max_count_per_step` counts per request.

Where Letta 0.16.8 is wrong, this solver is right:

- `conditional` branches on the tool's output as the tool returned it, plain (`right`) or JSON
  (`{"message": "right"}`, `"right"`, `true`, `3`);
- each call counts once for `max_count_per_step`, whatever the agent type (the history has one record per call);
- rules that leave no tool allowed raise `NoAllowedToolsError` naming them, instead of offering every tool.
"""

import json
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from toolhub.errors import ConflictError

RULES_DESCRIPTION = (
    "The following constraints define rules for tool usage and guide desired behavior. These rules must be followed "
    "to ensure proper tool execution and workflow. A single response may contain multiple tool calls."
)
"""Letta's preamble of the `<tool_usage_rules>` section of the system prompt."""

Flow = Literal["exit", "child", "continue"]
"""What a call means for the turn: it ends it (`exit_loop`), its successor is constrained (`constrain_child_tools`,
`conditional`), or the loop must go on (`continue_loop`)."""


class _Rule(BaseModel):
    """What every rule has. Unknown fields are refused, as Letta refuses them."""

    model_config = ConfigDict(extra="forbid")

    tool_name: str = Field(min_length=1, description="The tool the rule is about.")
    prompt_template: str | None = Field(
        default=None,
        description="Rendered into the system prompt's <tool_usage_rules>; `{{ field }}` and "
        "`{{ field | join(', ') }}` are replaced by the rule's fields.",
    )

    def restricts(self, history: Sequence["CallRecord"], available: frozenset[str]) -> frozenset[str] | None:
        """The tools this rule allows next, or None when it does not narrow them now."""
        return None

    def tool_names(self) -> set[str]:
        """Every tool the rule names."""
        return {self.tool_name}

    def render(self) -> str | None:
        if self.prompt_template is None:
            return None
        return render_template(self.prompt_template, self.model_dump())

    def describe(self) -> str:
        return f"{getattr(self, 'type')} rule on {self.tool_name!r}"


class InitToolRule(_Rule):
    """The first call of a request must be one of the init rules' tools."""

    type: Literal["run_first"] = "run_first"
    args: dict[str, Any] | None = Field(
        default=None, description="Arguments that override the model's when this tool is the first call (1.x)."
    )


class TerminalToolRule(_Rule):
    """Calling the tool ends the turn."""

    type: Literal["exit_loop"] = "exit_loop"
    prompt_template: str | None = (
        "<tool_rule>\n{{ tool_name }} ends your response (yields control) when called\n</tool_rule>"
    )


class ContinueToolRule(_Rule):
    """Calling the tool never ends the turn."""

    type: Literal["continue_loop"] = "continue_loop"
    prompt_template: str | None = (
        "<tool_rule>\n{{ tool_name }} requires continuing your response when called\n</tool_rule>"
    )


class ChildArgNode(BaseModel):
    """A child of a `constrain_child_tools` rule with arguments that override the model's when it is called (1.x)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    args: dict[str, Any] | None = None


class ChildToolRule(_Rule):
    """After the tool, the next call must be one of `children`."""

    type: Literal["constrain_child_tools"] = "constrain_child_tools"
    prompt_template: str | None = (
        "<tool_rule>\nAfter using {{ tool_name }}, you must use one of these tools: {{ children | join(', ') }}\n"
        "</tool_rule>"
    )
    children: list[str]
    child_arg_nodes: list[ChildArgNode] | None = None

    def restricts(self, history: Sequence["CallRecord"], available: frozenset[str]) -> frozenset[str] | None:
        return frozenset(self.children) if _last(history) == self.tool_name else None

    def tool_names(self) -> set[str]:
        return {self.tool_name, *self.children, *(node.name for node in self.child_arg_nodes or ())}

    def describe(self) -> str:
        return f"constrain_child_tools rule on {self.tool_name!r} (children {sorted(self.children)})"


class ParentToolRule(_Rule):
    """`children` may only be called right after the tool; right after it, only they may (Letta's semantics)."""

    type: Literal["parent_last_tool"] = "parent_last_tool"
    prompt_template: str | None = (
        "<tool_rule>\n{{ children | join(', ') }} can only be used after {{ tool_name }}\n</tool_rule>"
    )
    children: list[str]

    def restricts(self, history: Sequence["CallRecord"], available: frozenset[str]) -> frozenset[str] | None:
        if _last(history) == self.tool_name:
            return frozenset(self.children)
        blocked = available & set(self.children)
        return available - blocked if blocked else None

    def tool_names(self) -> set[str]:
        return {self.tool_name, *self.children}

    def describe(self) -> str:
        return f"parent_last_tool rule on {self.tool_name!r} (children {sorted(self.children)})"


MappingKey = bool | int | float | str
"""JSON keys always arrive as strings; Python callers may use booleans and numbers."""


class ConditionalToolRule(_Rule):
    """After the tool, its output chooses the next tool: the first key of `child_output_mapping` the output matches,
    else `default_child`, else any tool (or none, with `require_output_mapping`)."""

    type: Literal["conditional"] = "conditional"
    prompt_template: str | None = (
        "<tool_rule>\n{{ tool_name }} will determine which tool to use next based on its output\n</tool_rule>"
    )
    default_child: str | None = None
    child_output_mapping: dict[MappingKey, str]
    require_output_mapping: bool = False

    def restricts(self, history: Sequence["CallRecord"], available: frozenset[str]) -> frozenset[str] | None:
        if _last(history) != self.tool_name or history[-1].output is None:
            return None
        values = output_values(history[-1].output)
        for key, child in self.child_output_mapping.items():
            if any(matches(value, key) for value in values):
                return frozenset({child})
        if self.require_output_mapping:
            return frozenset()
        return frozenset({self.default_child}) if self.default_child else None

    def tool_names(self) -> set[str]:
        names = {self.tool_name, *self.child_output_mapping.values()}
        return names | {self.default_child} if self.default_child else names

    def describe(self) -> str:
        mapping = {str(key): child for key, child in self.child_output_mapping.items()}
        return f"conditional rule on {self.tool_name!r} (mapping {mapping}, default {self.default_child!r})"


class MaxCountPerStepToolRule(_Rule):
    """The tool may be called at most `max_count_limit` times per request."""

    type: Literal["max_count_per_step"] = "max_count_per_step"
    prompt_template: str | None = (
        "<tool_rule>\n{{ tool_name }}: max {{ max_count_limit }} use(s) per response\n</tool_rule>"
    )
    max_count_limit: int = Field(ge=0)

    def restricts(self, history: Sequence["CallRecord"], available: frozenset[str]) -> frozenset[str] | None:
        if sum(1 for call in history if call.name == self.tool_name) >= self.max_count_limit:
            return available - {self.tool_name}
        return None

    def describe(self) -> str:
        return f"max_count_per_step rule on {self.tool_name!r} (limit {self.max_count_limit})"


class RequiredBeforeExitToolRule(_Rule):
    """The turn does not end (within `max_steps`) before the tool was called."""

    type: Literal["required_before_exit"] = "required_before_exit"
    prompt_template: str | None = (
        "<tool_rule>{{ tool_name }} must be called before ending the conversation</tool_rule>"
    )


class RequiresApprovalToolRule(_Rule):
    """A call of the tool waits for the client's approval before it runs."""

    type: Literal["requires_approval"] = "requires_approval"


ToolRule = Annotated[
    InitToolRule
    | TerminalToolRule
    | ContinueToolRule
    | ChildToolRule
    | ParentToolRule
    | ConditionalToolRule
    | MaxCountPerStepToolRule
    | RequiredBeforeExitToolRule
    | RequiresApprovalToolRule,
    Field(discriminator="type"),
]
_RULE = TypeAdapter(ToolRule)

_PROMPT_ORDER: tuple[tuple[type[_Rule], ...], ...] = (
    (InitToolRule,),
    (ContinueToolRule,),
    (ChildToolRule, ConditionalToolRule, MaxCountPerStepToolRule),
    (ParentToolRule,),
    (TerminalToolRule,),
)
"""Letta's order of the rules in the prompt: init, continue, child-based (in the order given), parent, terminal."""
_NARROWING = (ChildToolRule, ConditionalToolRule, MaxCountPerStepToolRule, ParentToolRule)


@dataclass(frozen=True)
class CallRecord:
    """One call of this request that the rules let through."""

    name: str
    output: str | None = None
    """What the tool returned, as the model reads it; None while unknown (the call waits for approval)."""


class NoAllowedToolsError(ConflictError):
    """The agent's rules leave no tool that may be called next (409); names the rules that conflict."""

    code = "tool_rules_conflict"

    def __init__(self, rules: Sequence[ToolRule], available: Collection[str]) -> None:
        self.rules = tuple(rules)
        described = "; ".join(rule.describe() for rule in rules) or "none"
        super().__init__(
            f"The agent's tool rules leave no tool that may be called next (tools: {sorted(available)}); "
            f"conflicting rules: {described}"
        )


@dataclass(frozen=True)
class RuleDecision:
    """What the rules allow before the next call."""

    allowed: frozenset[str]
    available: frozenset[str]
    uncalled_required: tuple[str, ...]
    """Tools of `required_before_exit` rules that are available and not called yet in this request."""
    narrowing: tuple[tuple[ToolRule, frozenset[str]], ...] = ()
    """Each rule that narrows the choice now, with what it allows."""
    must_call: bool = False
    """A rule says which tools come next (init, child, conditional, or parent right after its tool): the model must
    call one rather than answer."""

    @property
    def forced(self) -> str | None:
        """The tool the model must call: the only one the rules leave, when they require a call."""
        return next(iter(self.allowed)) if self.must_call and len(self.allowed) == 1 else None

    def broken_by(self, name: str) -> tuple[ToolRule, ...]:
        """The rules a call of `name` would break (empty when it is allowed)."""
        if name in self.allowed:
            return ()
        return tuple(rule for rule, allowed in self.narrowing if name not in allowed)

    def violation(self, name: str) -> str | None:
        """Letta's error text for a call the rules forbid, with the broken rules as hints; None when allowed."""
        if name in self.allowed:
            return None
        text = f"[ToolConstraintError] Cannot call {name}, valid tools include: {sorted(self.allowed)}."
        hints = [rendered for rule in self.broken_by(name) if (rendered := rule.render())]
        if hints:
            text += "\n** Hint: Possible rules that were violated:\n" + "\n".join(f"\t- {hint}" for hint in hints)
        return text


@dataclass(frozen=True)
class RuleSet:
    """An agent's rules, grouped for the questions the loop asks."""

    rules: tuple[ToolRule, ...] = ()

    @classmethod
    def parse(cls, stored: Iterable[Any]) -> "RuleSet":
        """Rules as stored on an agent; entries that are not valid rules (stored before rules were checked) are
        left out."""
        rules = []
        for raw in stored:
            try:
                rules.append(_RULE.validate_python(raw))
            except ValidationError:
                continue
        return cls(tuple(rules))

    def of(self, *kinds: type[_Rule]) -> list[Any]:
        return [rule for rule in self.rules if isinstance(rule, kinds)]

    def decide(self, history: Sequence[CallRecord], available: Collection[str]) -> RuleDecision:
        """See `solve`."""
        tools = frozenset(available)
        allowed = tools
        found: list[tuple[ToolRule, frozenset[str]]] = []
        inits = self.of(InitToolRule) if not history else []
        if inits:
            allowed = tools & {rule.tool_name for rule in inits}
            found = [(rule, allowed) for rule in inits]
        for rule in self.of(*_NARROWING):
            narrowed = rule.restricts(history, tools)
            if narrowed is not None:
                allowed &= narrowed
                found.append((rule, narrowed & tools))
        narrowing = tuple(found)
        must_call = bool(inits) or any(rule.tool_name == _last(history) for rule, _ in narrowing if _names_next(rule))
        if tools and not allowed:
            raise NoAllowedToolsError([rule for rule, _ in narrowing], tools)
        return RuleDecision(
            allowed=allowed,
            available=tools,
            uncalled_required=self.uncalled_required(history, tools),
            narrowing=narrowing,
            must_call=must_call,
        )

    def uncalled_required(self, history: Sequence[CallRecord], available: Collection[str]) -> tuple[str, ...]:
        """Tools of `required_before_exit` rules that are available and not called yet, sorted."""
        required = {rule.tool_name for rule in self.of(RequiredBeforeExitToolRule)}
        return tuple(sorted((required & set(available)) - {call.name for call in history}))

    def flow(self, name: str) -> Flow | None:
        """What a call of `name` means for the turn (Letta's precedence: terminal, then child-based, then
        continue)."""
        if any(rule.tool_name == name for rule in self.of(TerminalToolRule)):
            return "exit"
        if any(rule.tool_name == name for rule in self.of(ChildToolRule, ConditionalToolRule)):
            return "child"
        if any(rule.tool_name == name for rule in self.of(ContinueToolRule)):
            return "continue"
        return None

    def requires_approval(self, name: str) -> bool:
        return any(rule.tool_name == name for rule in self.of(RequiresApprovalToolRule))

    def prefilled_args(self, name: str, history: Sequence[CallRecord]) -> dict[str, Any]:
        """Arguments the rules set for a call of `name` now (1.x `args` of an init rule on the first call,
        `child_arg_nodes` of the previous tool's child rule); they override the model's."""
        args: dict[str, Any] = {}
        if not history:
            for rule in self.of(InitToolRule):
                if rule.tool_name == name and rule.args:
                    args.update(rule.args)
            return args
        for rule in self.of(ChildToolRule):
            if rule.tool_name == history[-1].name:
                for node in rule.child_arg_nodes or ():
                    if node.name == name and node.args:
                        args.update(node.args)
        return args

    def prompt(self) -> str | None:
        """The rules as the `<tool_usage_rules>` section of the system prompt; None when no rule renders."""
        rendered = [text for kinds in _PROMPT_ORDER for rule in self.of(*kinds) if (text := rule.render())]
        if not rendered:
            return None
        return "\n".join(["<tool_usage_rules>", RULES_DESCRIPTION, "", *rendered, "</tool_usage_rules>"])

    def tool_names(self) -> set[str]:
        """Every tool any rule names."""
        return {name for rule in self.rules for name in rule.tool_names()}

    def problems(self) -> list[str]:
        """What makes a rule unusable whatever the tools: a conditional rule without mappings, a child argument
        node that names no child."""
        found = []
        for rule in self.of(ConditionalToolRule):
            if not rule.child_output_mapping:
                found.append(
                    f"The conditional rule on {rule.tool_name!r} needs at least one child_output_mapping entry"
                )
        for rule in self.of(ChildToolRule):
            strays = sorted({node.name for node in rule.child_arg_nodes or ()} - set(rule.children))
            if strays:
                found.append(
                    f"child_arg_nodes of the rule on {rule.tool_name!r} name tools that are not children: {strays}"
                )
        return found


def solve(rules: Sequence[ToolRule], history: Sequence[CallRecord], available: Collection[str]) -> RuleDecision:
    """Which of `available` may be called after `history` (this request's calls, oldest first).

    The first call of a request must be an init rule's tool when there are init rules, and every narrowing rule
    (child, conditional, max count, parent) must allow the tool (Letta lets the init rules override the others on
    the first call). Continue, terminal, required-before-exit and approval rules never narrow the choice.

    Raises:
        NoAllowedToolsError: tools are available but the rules allow none of them.
    """
    return RuleSet(tuple(rules)).decide(history, available)


def dump_rule(rule: ToolRule) -> dict[str, Any]:
    """A rule as stored and answered: Letta 0.8's JSON shape (with its prompt template), plus the 1.x-only fields
    (`args`, `child_arg_nodes`) when they are set."""
    dumped = rule.model_dump(mode="json")
    for optional in ("args", "child_arg_nodes"):
        if dumped.get(optional, 0) is None:
            del dumped[optional]
    return dumped


def output_values(output: str) -> list[Any]:
    """The values a tool's output stands for: the text itself and, when it is JSON, the decoded value (a
    `{"message": …}` object stands for its message, as Letta wraps outputs)."""
    values: list[Any] = [output]
    try:
        decoded = json.loads(output)
    except ValueError:
        return values
    if isinstance(decoded, dict):
        if "message" in decoded:
            values.append(decoded["message"])
    elif not isinstance(decoded, list):
        values.append(decoded)
    return values


def matches(value: Any, key: MappingKey) -> bool:
    """Whether one output value matches a mapping key: booleans case-insensitively (`True`, `"true"`), numbers by
    value (`3`, `"3.0"`), anything else as text."""
    wanted_bool = _as_bool(key)
    if wanted_bool is not None:
        return _as_bool(value) is wanted_bool
    wanted_number = _as_number(key)
    if wanted_number is not None:
        return _as_number(value) == wanted_number
    return str(value) == str(key)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*(?:\|\s*join\(\s*(['\"])(.*?)\2\s*\)\s*)?\}\}")


def render_template(template: str, fields: Mapping[str, Any]) -> str:
    """Letta's Jinja templates of rules, without a template engine: `{{ name }}` and `{{ name | join(sep) }}` are
    replaced by the rule's fields; anything else is left as written (a template is data, never code)."""

    def substitute(match: re.Match[str]) -> str:
        name, _, separator = match.groups()
        if name not in fields:
            return match.group(0)
        value = fields[name]
        if separator is not None and isinstance(value, list | tuple):
            return separator.join(str(item) for item in value)
        return str(value)

    return _PLACEHOLDER.sub(substitute, template)


def _last(history: Sequence[CallRecord]) -> str | None:
    return history[-1].name if history else None


def _names_next(rule: ToolRule) -> bool:
    """Rules that, right after their tool, say which tool must come next."""
    return isinstance(rule, ChildToolRule | ConditionalToolRule | ParentToolRule)
