"""The tool-rules solver: each rule type alone and in combination, the places where Letta 0.16.8 is wrong, and a
property test that no sequence the solver allows ever breaks a rule."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from toolhub.tools.rules import (
    CallRecord,
    ChildArgNode,
    ChildToolRule,
    ConditionalToolRule,
    ContinueToolRule,
    InitToolRule,
    MaxCountPerStepToolRule,
    NoAllowedToolsError,
    ParentToolRule,
    RequiredBeforeExitToolRule,
    RequiresApprovalToolRule,
    RuleSet,
    TerminalToolRule,
    ToolRule,
    dump_rule,
    render_template,
    solve,
)

TOOLS = frozenset({"start", "next", "helper", "end"})


def calls(*names: str) -> list[CallRecord]:
    return [CallRecord(name, "ok") for name in names]


# -- shapes ------------------------------------------------------------------------------------------------------


def test_rules_have_letta_shapes_discriminators_and_default_templates():
    adapter = TypeAdapter(ToolRule)
    child = adapter.validate_python({"type": "constrain_child_tools", "tool_name": "a", "children": ["b", "c"]})
    assert isinstance(child, ChildToolRule)
    assert dump_rule(child) == {
        "tool_name": "a",
        "type": "constrain_child_tools",
        "children": ["b", "c"],
        "prompt_template": "<tool_rule>\nAfter using {{ tool_name }}, you must use one of these tools: "
        "{{ children | join(', ') }}\n</tool_rule>",
    }
    assert dump_rule(adapter.validate_python({"type": "run_first", "tool_name": "a"})) == {
        "tool_name": "a", "type": "run_first", "prompt_template": None
    }
    conditional = adapter.validate_python({"type": "conditional", "tool_name": "a", "child_output_mapping": {"x": "b"}})
    assert (conditional.default_child, conditional.require_output_mapping) == (None, False)
    for kind in ("run_first", "exit_loop", "continue_loop", "required_before_exit", "requires_approval"):
        assert adapter.validate_python({"type": kind, "tool_name": "t"}).type == kind
    limited = adapter.validate_python({"type": "max_count_per_step", "tool_name": "t", "max_count_limit": 2})
    assert limited.max_count_limit == 2
    assert dump_rule(InitToolRule(tool_name="a", args={"x": 1}))["args"] == {"x": 1}


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "no_such_rule", "tool_name": "a"},
        {"tool_name": "a"},
        {"type": "constrain_child_tools", "tool_name": "a"},
        {"type": "max_count_per_step", "tool_name": "a"},
        {"type": "exit_loop", "tool_name": "a", "surprise": 1},
    ],
)
def test_malformed_rules_are_refused(raw):
    with pytest.raises(ValidationError):
        TypeAdapter(ToolRule).validate_python(raw)


def test_stored_rules_that_are_not_rules_are_left_out():
    ruleset = RuleSet.parse([{"type": "exit_loop", "tool_name": "end"}, {"type": "bogus"}, "text"])
    assert [rule.type for rule in ruleset.rules] == ["exit_loop"]


def test_templates_render_fields_and_joins_and_leave_the_rest():
    rendered = render_template("{{ children | join(' / ') }} after {{tool_name}}; {{ unknown }} {% if x %}", {
        "children": ["a", "b"], "tool_name": "t"
    })
    assert rendered == "a / b after t; {{ unknown }} {% if x %}"


# -- each rule alone ---------------------------------------------------------------------------------------------


def test_no_rules_allow_everything_and_force_nothing():
    decision = solve([], calls("start"), TOOLS)
    assert decision.allowed == TOOLS and decision.forced is None and not decision.must_call


def test_init_rules_decide_the_first_call_only():
    rules = [InitToolRule(tool_name="start")]
    first = solve(rules, [], TOOLS)
    assert first.allowed == {"start"} and first.forced == "start"
    assert first.violation("end") == "[ToolConstraintError] Cannot call end, valid tools include: ['start']."
    assert solve(rules, calls("start"), TOOLS).allowed == TOOLS


def test_several_init_rules_allow_any_of_them_without_forcing():
    decision = solve([InitToolRule(tool_name="start"), InitToolRule(tool_name="helper")], [], TOOLS)
    assert decision.allowed == {"start", "helper"} and decision.forced is None and decision.must_call


def test_child_rule_constrains_only_the_call_after_its_tool():
    rules = [ChildToolRule(tool_name="start", children=["next", "helper"])]
    assert solve(rules, calls("start"), TOOLS).allowed == {"next", "helper"}
    assert solve(rules, calls("start", "next"), TOOLS).allowed == TOOLS
    assert solve(rules, [], TOOLS).allowed == TOOLS


def test_a_violation_names_the_broken_rule_as_a_hint():
    decision = solve([ChildToolRule(tool_name="start", children=["next"])], calls("start"), TOOLS)
    assert decision.violation("next") is None
    text = decision.violation("end")
    assert text.startswith("[ToolConstraintError] Cannot call end, valid tools include: ['next'].")
    assert "** Hint: Possible rules that were violated:\n\t- <tool_rule>\nAfter using start" in text
    assert [rule.type for rule in decision.broken_by("end")] == ["constrain_child_tools"]


def test_parent_rule_children_only_right_after_it_and_only_they():
    rules = [ParentToolRule(tool_name="start", children=["next"])]
    assert solve(rules, [], TOOLS).allowed == TOOLS - {"next"}
    assert solve(rules, calls("start"), TOOLS).allowed == {"next"}
    assert solve(rules, calls("start", "next"), TOOLS).allowed == TOOLS - {"next"}


def test_max_count_counts_each_call_once_and_resets_with_a_new_request():
    rules = [MaxCountPerStepToolRule(tool_name="helper", max_count_limit=2)]
    assert "helper" in solve(rules, calls("helper"), TOOLS).allowed  # Letta 0.16.8 counts this call twice
    assert "helper" not in solve(rules, calls("helper", "start", "helper"), TOOLS).allowed
    assert "helper" in solve(rules, [], TOOLS).allowed  # a new request starts a new history
    assert not solve(rules, calls("helper", "helper"), TOOLS).must_call  # a limit never forces a call


def test_rules_that_do_not_narrow_the_choice():
    rules = [
        TerminalToolRule(tool_name="end"),
        ContinueToolRule(tool_name="helper"),
        RequiredBeforeExitToolRule(tool_name="next"),
        RequiresApprovalToolRule(tool_name="start"),
    ]
    assert solve(rules, calls("start"), TOOLS).allowed == TOOLS
    ruleset = RuleSet(tuple(rules))
    assert (ruleset.flow("end"), ruleset.flow("helper"), ruleset.flow("start")) == ("exit", "continue", None)
    assert ruleset.requires_approval("start") and not ruleset.requires_approval("end")


def test_terminal_beats_child_beats_continue():
    ruleset = RuleSet((
        ContinueToolRule(tool_name="a"), ChildToolRule(tool_name="a", children=["b"]), TerminalToolRule(tool_name="a"),
        ContinueToolRule(tool_name="b"), ConditionalToolRule(tool_name="b", child_output_mapping={"x": "a"}),
    ))
    assert (ruleset.flow("a"), ruleset.flow("b")) == ("exit", "child")


# -- conditional ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("right", "go_right"),  # plain: Letta 0.16.8 never branches on this
        ('{"message": "right"}', "go_right"),
        ('"right"', "go_right"),
        ("left", "go_left"),
        ("sideways", "fallback"),
    ],
)
def test_conditional_branches_on_plain_and_json_string_outputs(output, expected):
    rule = ConditionalToolRule(
        tool_name="pick", child_output_mapping={"right": "go_right", "left": "go_left"}, default_child="fallback"
    )
    tools = {"pick", "go_right", "go_left", "fallback"}
    decision = solve([rule], [CallRecord("pick", output)], tools)
    assert decision.allowed == {expected} and decision.forced == expected


@pytest.mark.parametrize(
    ("key", "output", "hit"),
    [
        (True, "True", True),
        (True, "true", True),
        (True, '{"message": true}', True),
        ("true", "TRUE", True),
        (False, "false", True),
        (True, "false", False),
        (3, "3", True),
        (3, "3.0", True),
        ("3", '{"message": 3}', True),
        (2.5, "2.50", True),
        (3, "three", False),
        ("1", "true", False),
    ],
)
def test_conditional_keys_bool_number_and_text(key, output, hit):
    rule = ConditionalToolRule(tool_name="check", child_output_mapping={key: "yes"})
    allowed = solve([rule], [CallRecord("check", output)], {"check", "yes", "no"}).allowed
    assert (allowed == {"yes"}) is hit
    if not hit:
        assert allowed == {"check", "yes", "no"}  # no default: any tool


def test_conditional_first_matching_key_wins_and_mapping_survives_json():
    rule = ConditionalToolRule(tool_name="check", child_output_mapping={"5": "five", 5.0: "number"})
    assert solve([rule], [CallRecord("check", "5")], {"check", "five", "number"}).allowed == {"five"}
    stored = RuleSet.parse([dump_rule(ConditionalToolRule(tool_name="c", child_output_mapping={True: "t"}))])
    assert solve(stored.rules, [CallRecord("c", "True")], {"c", "t"}).allowed == {"t"}


def test_conditional_required_mapping_without_match_allows_nothing_and_names_the_rule():
    rule = ConditionalToolRule(tool_name="check", child_output_mapping={"ok": "next"}, require_output_mapping=True)
    with pytest.raises(NoAllowedToolsError) as raised:
        solve([rule], [CallRecord("check", "bad")], {"check", "next"})
    assert raised.value.status_code == 409 and "conditional rule on 'check'" in raised.value.detail
    assert raised.value.rules == (rule,)


def test_conditional_waits_for_an_output():
    rule = ConditionalToolRule(tool_name="check", child_output_mapping={"ok": "next"}, require_output_mapping=True)
    assert solve([rule], [CallRecord("check", None)], {"check", "next"}).allowed == {"check", "next"}


def test_conditional_without_mappings_is_a_problem():
    assert RuleSet((ConditionalToolRule(tool_name="c", child_output_mapping={}),)).problems() == [
        "The conditional rule on 'c' needs at least one child_output_mapping entry"
    ]


# -- combinations ------------------------------------------------------------------------------------------------


def test_init_then_child_chain_then_terminal():
    rules = [
        InitToolRule(tool_name="start"),
        ChildToolRule(tool_name="start", children=["next"]),
        ChildToolRule(tool_name="next", children=["end"]),
        TerminalToolRule(tool_name="end"),
    ]
    history: list[CallRecord] = []
    for expected in ("start", "next", "end"):
        decision = solve(rules, history, TOOLS)
        assert decision.forced == expected
        history.append(CallRecord(expected, "done"))
    assert RuleSet(tuple(rules)).flow("end") == "exit"


def test_cycles_keep_going_round():
    rules = [ChildToolRule(tool_name="start", children=["next"]), ChildToolRule(tool_name="next", children=["start"])]
    history = calls("start")
    for _ in range(5):
        (only,) = solve(rules, history, TOOLS).allowed
        history.append(CallRecord(only, "x"))
    assert [call.name for call in history] == ["start", "next", "start", "next", "start", "next"]


def test_narrowing_rules_intersect_and_conflicts_are_named():
    rules = [
        ChildToolRule(tool_name="start", children=["next", "helper"]),
        MaxCountPerStepToolRule(tool_name="helper", max_count_limit=1),
    ]
    assert solve(rules, calls("helper", "start"), TOOLS).allowed == {"next"}
    conflicting = [
        ChildToolRule(tool_name="start", children=["next"]), ParentToolRule(tool_name="helper", children=["next"])
    ]
    with pytest.raises(NoAllowedToolsError) as raised:
        solve(conflicting, calls("start"), TOOLS)
    assert "constrain_child_tools rule on 'start'" in raised.value.detail
    assert "parent_last_tool rule on 'helper'" in raised.value.detail


def test_init_naming_no_available_tool_is_a_conflict_not_every_tool():
    with pytest.raises(NoAllowedToolsError, match="run_first rule on 'gone'"):
        solve([InitToolRule(tool_name="gone")], [], TOOLS)


def test_no_tools_at_all_is_no_conflict():
    assert solve([InitToolRule(tool_name="start")], [], set()).allowed == frozenset()


def test_required_before_exit_tracks_uncalled_available_tools():
    rules = [
        RequiredBeforeExitToolRule(tool_name="next"),
        RequiredBeforeExitToolRule(tool_name="helper"),
        RequiredBeforeExitToolRule(tool_name="detached"),
        TerminalToolRule(tool_name="end"),
    ]
    assert solve(rules, [], TOOLS).uncalled_required == ("helper", "next")
    assert solve(rules, calls("helper", "end"), TOOLS).uncalled_required == ("next",)
    assert solve(rules, calls("next", "helper", "end"), TOOLS).uncalled_required == ()


def test_prefilled_arguments_of_init_and_child_rules():
    ruleset = RuleSet((
        InitToolRule(tool_name="start", args={"mode": "fast"}),
        ChildToolRule(tool_name="start", children=["next"], child_arg_nodes=[ChildArgNode(name="next", args={"n": 1})]),
    ))
    assert ruleset.prefilled_args("start", []) == {"mode": "fast"}
    assert ruleset.prefilled_args("next", calls("start")) == {"n": 1}
    assert ruleset.prefilled_args("next", calls("helper")) == {}
    stray = RuleSet((ChildToolRule(tool_name="a", children=["b"], child_arg_nodes=[ChildArgNode(name="c")]),))
    assert stray.problems() == ["child_arg_nodes of the rule on 'a' name tools that are not children: ['c']"]


def test_prompt_lists_rules_in_letta_order():
    ruleset = RuleSet((
        TerminalToolRule(tool_name="end"),
        ChildToolRule(tool_name="start", children=["next"]),
        InitToolRule(tool_name="start"),
        ContinueToolRule(tool_name="helper"),
        RequiredBeforeExitToolRule(tool_name="next"),
    ))
    assert ruleset.prompt() == "\n".join([
        "<tool_usage_rules>",
        "The following constraints define rules for tool usage and guide desired behavior. These rules must be "
        "followed to ensure proper tool execution and workflow. A single response may contain multiple tool calls.",
        "",
        "<tool_rule>\nhelper requires continuing your response when called\n</tool_rule>",
        "<tool_rule>\nAfter using start, you must use one of these tools: next\n</tool_rule>",
        "<tool_rule>\nend ends your response (yields control) when called\n</tool_rule>",
        "</tool_usage_rules>",
    ])
    assert RuleSet((InitToolRule(tool_name="start"),)).prompt() is None


# -- property: what the solver allows never breaks a rule --------------------------------------------------------

NAMES = ["a", "b", "c", "d"]
OUTPUTS = ["yes", "no", '{"message": "yes"}', "true", "1"]
name = st.sampled_from(NAMES)
children = st.lists(name, min_size=1, max_size=3, unique=True)
rule_strategy = st.one_of(
    st.builds(InitToolRule, tool_name=name),
    st.builds(ChildToolRule, tool_name=name, children=children),
    st.builds(ParentToolRule, tool_name=name, children=children),
    st.builds(MaxCountPerStepToolRule, tool_name=name, max_count_limit=st.integers(0, 3)),
    st.builds(
        ConditionalToolRule,
        tool_name=name,
        child_output_mapping=st.dictionaries(st.sampled_from(["yes", "no", True, 1]), name, min_size=1, max_size=3),
        default_child=st.none() | name,
        require_output_mapping=st.booleans(),
    ),
    st.builds(TerminalToolRule, tool_name=name),
    st.builds(RequiredBeforeExitToolRule, tool_name=name),
)


def breaks(rule: ToolRule, history: list[CallRecord]) -> bool:
    """An independent statement of each rule, over a whole sequence of calls."""
    names = [call.name for call in history]
    pairs = list(zip(history, history[1:]))
    if isinstance(rule, MaxCountPerStepToolRule):
        return names.count(rule.tool_name) > rule.max_count_limit
    if isinstance(rule, ChildToolRule):
        return any(before.name == rule.tool_name and after.name not in rule.children for before, after in pairs)
    if isinstance(rule, ParentToolRule):
        after_parent = any(b.name == rule.tool_name and a.name not in rule.children for b, a in pairs)
        orphan = any(call.name in rule.children and (i == 0 or names[i - 1] != rule.tool_name)
                     for i, call in enumerate(history))
        return after_parent or orphan
    if isinstance(rule, ConditionalToolRule):
        for before, after in pairs:
            if before.name != rule.tool_name:
                continue
            wanted = _branch(rule, json.loads(before.output) if before.output.startswith("{") else before.output)
            if wanted is not None and after.name != wanted:
                return True
            if wanted is None and rule.require_output_mapping:
                return True
    return False


def _branch(rule: ConditionalToolRule, output: object) -> str | None:
    value = output["message"] if isinstance(output, dict) else output
    for key, child in rule.child_output_mapping.items():
        if isinstance(key, bool):
            if str(value).lower() == str(key).lower():
                return child
        elif isinstance(key, int):
            if str(value) == str(key):
                return child
        elif value == key:
            return child
    return rule.default_child


def follows_init(rules: list[ToolRule], history: list[CallRecord]) -> bool:
    inits = {rule.tool_name for rule in rules if isinstance(rule, InitToolRule)}
    return not inits or not history or history[0].name in inits


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(rule_strategy, max_size=5),
    picks=st.lists(st.tuples(st.integers(0, 10), st.sampled_from(OUTPUTS)), max_size=10),
)
def test_no_sequence_the_solver_allows_breaks_a_rule(rules, picks):
    history: list[CallRecord] = []
    for index, output in picks:
        try:
            decision = solve(rules, history, NAMES)
        except NoAllowedToolsError as exc:
            assert exc.rules  # a conflict always names its rules
            break
        assert decision.allowed <= set(NAMES)
        choice = sorted(decision.allowed)[index % len(decision.allowed)]
        assert decision.violation(choice) is None
        for other in set(NAMES) - decision.allowed:
            assert decision.violation(other).startswith(f"[ToolConstraintError] Cannot call {other}")
        history.append(CallRecord(choice, output))
    assert follows_init(rules, history)
    assert not [rule for rule in rules if breaks(rule, history)]
