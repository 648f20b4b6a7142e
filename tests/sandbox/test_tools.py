"""What a tool's author can rely on: arguments, return values, errors, output, agent state, sandbox_dir."""

from pathlib import Path

from pydantic import BaseModel

from tests.sandbox.helpers import tool
from toolhub.sandbox.base import AgentSnapshot, Sandbox

ADD_SCHEMA = {
    "name": "add",
    "description": "Add two integers.",
    "parameters": {
        "type": "object",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"],
    },
}


async def test_sync_tool_returns_its_value_and_output(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            import sys
            def add(x: int, y: int) -> int:
                print("adding")
                print("careful", file=sys.stderr)
                return x + y
            """,
            {"x": 10, "y": 5},
        )
    )
    assert (result.status, result.func_return, result.error) == ("success", 15, None)
    assert result.stdout == "adding\n"
    assert result.stderr == "careful\n"
    assert result.duration_ms > 0


async def test_arguments_are_coerced_by_the_json_schema(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            def add(x, y):
                return [x + y, type(x).__name__]
            """,
            {"x": "3", "y": "4"},
            json_schema=ADD_SCHEMA,
        )
    )
    assert result.func_return == [7, "int"]


async def test_strings_become_lists_objects_numbers_and_booleans(sandbox: Sandbox) -> None:
    schema = {
        "parameters": {
            "properties": {
                "items": {"type": "array"},
                "options": {"type": "object"},
                "ratio": {"type": "number"},
                "flag": {"type": "boolean"},
                "note": {"type": "string"},
            }
        }
    }
    result = await sandbox.run(
        tool(
            """
            def f(items, options, ratio, flag, note):
                return [items, options, ratio, flag, note]
            """,
            {"items": "['a', 'b']", "options": '{"k": 1}', "ratio": "0.5", "flag": "true", "note": "42"},
            json_schema=schema,
        )
    )
    assert result.func_return == [["a", "b"], {"k": 1}, 0.5, True, "42"]


async def test_async_tool(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            import asyncio
            async def twice(x: int) -> int:
                await asyncio.sleep(0.01)
                return 2 * x
            """,
            {"x": 21},
        )
    )
    assert (result.status, result.func_return) == ("success", 42)


async def test_pydantic_argument_defined_in_the_source(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            from pydantic import BaseModel

            class Step(BaseModel):
                name: str
                minutes: int

            def plan(steps: list[Step], first: Step) -> str:
                total = sum(step.minutes for step in steps)
                return f"{type(first).__name__} {first.name} then {len(steps)} steps, {total} minutes"
            """,
            {
                "steps": [{"name": "a", "minutes": "5"}, {"name": "b", "minutes": 7}],
                "first": {"name": "z", "minutes": 1},
            },
        )
    )
    assert result.func_return == "Step z then 2 steps, 12 minutes"


class Address(BaseModel):
    street: str
    city: str | None = None


class Person(BaseModel):
    name: str
    address: Address


class PersonArgs(BaseModel):
    person: Person
    greeting: str = "Hello"


async def test_pydantic_argument_known_only_by_its_args_json_schema(sandbox: Sandbox) -> None:
    """The classes were defined on the client: only `args_json_schema` reached the server."""
    result = await sandbox.run(
        tool(
            """
            def greet(person: Person, greeting: str = "Hi") -> str:
                return f"{greeting}, {person.name} of {person.address.street} ({type(person.address).__name__})"
            """,
            {"person": {"name": "Ada", "address": {"street": "Main St"}}},
            args_json_schema=PersonArgs.model_json_schema(),
        )
    )
    assert result.func_return == "Hi, Ada of Main St (Address)"


async def test_unannotated_parameter_gets_a_model_from_args_json_schema(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            def greet(person, greeting):
                return f"{greeting} {person.name} from {person.address.street}"
            """,
            {"person": {"name": "Ada", "address": {"street": "Main St"}}, "greeting": "Hey"},
            args_json_schema=PersonArgs.model_json_schema(),
        )
    )
    assert result.func_return == "Hey Ada from Main St"


async def test_return_values_are_json(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            from pydantic import BaseModel

            class Point(BaseModel):
                x: int
                y: int

            class Opaque:
                def __str__(self):
                    return "opaque!"

            def shapes():
                return {"point": Point(x=1, y=2), "pair": (1, 2), "opaque": Opaque()}
            """
        )
    )
    assert result.func_return == {"point": {"x": 1, "y": 2}, "pair": [1, 2], "opaque": "opaque!"}


async def test_non_json_value_without_pydantic_becomes_str(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            class Thing:
                def __str__(self):
                    return "a thing"

            def make():
                return Thing()
            """
        )
    )
    assert result.func_return == "a thing"


async def test_exception_is_an_error_result_in_lettas_words(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            def divide(a: int, b: int) -> float:
                print("dividing")
                return a / b
            """,
            {"a": 1, "b": 0},
        )
    )
    assert result.status == "error"
    assert result.error == "Error executing function divide: ZeroDivisionError: division by zero"
    assert result.func_return == result.error
    assert result.stdout == "dividing\n"
    assert "Traceback (most recent call last)" in result.stderr
    assert "return a / b" in result.stderr
    assert "invoke.py" not in result.stderr


async def test_missing_argument_is_a_type_error(sandbox: Sandbox) -> None:
    result = await sandbox.run(tool("def add(x: int, y: int):\n    return x + y", {"x": 1}))
    assert result.error == "Error executing function add: TypeError: add() missing 1 required positional argument: 'y'"


async def test_arguments_the_function_cannot_take_are_dropped(sandbox: Sandbox) -> None:
    result = await sandbox.run(tool("def one(x):\n    return x", {"x": 1, "request_heartbeat": True}))
    assert result.func_return == 1


async def test_source_without_the_named_function(sandbox: Sandbox) -> None:
    invocation = tool("def other():\n    return 1")
    result = await sandbox.run(invocation.__class__(**{**invocation.__dict__, "name": "missing"}))
    assert result.error == (
        "Error executing function missing: NameError: name 'missing' is not defined by the tool's source code"
    )


async def test_syntax_error(sandbox: Sandbox) -> None:
    result = await sandbox.run(tool("def broken(:\n    pass"))
    assert result.status == "error"
    assert result.error.startswith("Error executing function broken: SyntaxError:")


async def test_typing_names_are_available_without_import(sandbox: Sandbox) -> None:
    """Letta's generated script starts with `from typing import *`; tools written for it rely on that."""
    source = "def first(items: List[str]) -> Optional[str]:\n    return items[0]"
    result = await sandbox.run(tool(source, {"items": ["a"]}))
    assert result.func_return == "a"


async def test_agent_state_reads_and_edits_memory(sandbox: Sandbox) -> None:
    snapshot = AgentSnapshot(
        id="agent-123", name="helper", tags=("a", "b"), blocks={"human": "Name: Bob", "persona": "friendly"}
    )
    result = await sandbox.run(
        tool(
            """
            def remember(agent_state: "AgentState", fact: str) -> str:
                human = agent_state.memory.get_block("human").value
                agent_state.memory.update_block_value("human", human + "\\n" + fact)
                agent_state.memory.get_block("persona").value = "terse"
                return f"{agent_state.id} {agent_state.name} {agent_state.tags}"
            """,
            {"fact": "Likes tea"},
            agent_state=snapshot,
        )
    )
    assert result.func_return == "agent-123 helper ['a', 'b']"
    assert result.memory_edits == {"human": "Name: Bob\nLikes tea", "persona": "terse"}


async def test_agent_state_errors_are_lettas(sandbox: Sandbox) -> None:
    snapshot = AgentSnapshot(id="agent-1", name="a", blocks={"human": "x"})
    unknown = await sandbox.run(
        tool("def f(agent_state):\n    agent_state.memory.get_block('nope')", agent_state=snapshot)
    )
    assert unknown.error == (
        "Error executing function f: KeyError: 'Block field nope does not exist (available sections = human)'"
    )
    not_text = await sandbox.run(
        tool("def f(agent_state):\n    agent_state.memory.update_block_value('human', 3)", agent_state=snapshot)
    )
    assert not_text.error == "Error executing function f: ValueError: Provided value must be a string"
    assert not_text.memory_edits == {}


async def test_agent_state_is_none_without_an_agent(sandbox: Sandbox) -> None:
    result = await sandbox.run(tool("def f(agent_state: 'AgentState' = None):\n    return agent_state is None"))
    assert result.func_return is True


async def test_agent_state_argument_from_the_model_is_ignored(sandbox: Sandbox) -> None:
    result = await sandbox.run(tool("def f(agent_state):\n    return agent_state", {"agent_state": "forged"}))
    assert result.func_return is None


async def test_sandbox_dir_is_importable_and_readable(sandbox: Sandbox, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)  # calls run as other uids than the server's: the directory must be readable by others
    package = tmp_path / "my_repo" / "subfolder1"
    package.mkdir(parents=True)
    (tmp_path / "my_repo" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "module.py").write_text("def my_function(arg):\n    return arg.upper()\n")
    (tmp_path / "data.txt").write_text("from the sandbox dir")
    result = await sandbox.run(
        tool(
            f"""
            def my_tool(my_arg: str) -> str:
                from my_repo.subfolder1.module import my_function
                return my_function(my_arg) + " / " + open({str(tmp_path / "data.txt")!r}).read()
            """,
            {"my_arg": "hi"},
            sandbox_dir=tmp_path,
        )
    )
    assert result.func_return == "HI / from the sandbox dir"


async def test_sandbox_dir_that_does_not_exist(sandbox: Sandbox, tmp_path: Path) -> None:
    result = await sandbox.run(tool("def f():\n    return 1", sandbox_dir=tmp_path / "missing"))
    assert result.error == (
        f"Error executing function f: SandboxError: the sandbox_dir {str(tmp_path / 'missing')!r} is not a directory"
    )
