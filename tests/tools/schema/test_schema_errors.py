"""Sources that cannot become a schema raise ToolSchemaError (400) naming the function and the parameter."""

import textwrap

import pytest

from toolhub.errors import InvalidInputError
from toolhub.tools.schema.derive import ToolSchemaError, derive_json_schema, function_name

DOC = '"""Do something.\n\n    Args:\n        x: The x.\n    """'

# (source, function named in the message, parameter named in the message or None, fragment of the message)
CASES = {
    "missing docstring": ("def f(x: int):\n    return x", "f", None, "missing docstring"),
    "docstring without summary": (
        'def f(x: int):\n    """\n    Args:\n        x: The x.\n    """',
        "f",
        None,
        "missing docstring",
    ),
    "no annotation": (f"def f(x):\n    {DOC}", "f", "x", "has no type annotation"),
    "seed create_task_plan without annotations": (
        'def create_task_plan(steps, explanation):\n    """ Creates a task plan for the current task. """\n',
        "create_task_plan",
        "steps",
        "has no type annotation",
    ),
    "no description": (f"def f(x: int, y: int):\n    {DOC}", "f", "y", "has no description"),
    "*args": (f"def f(x: int, *rest: int):\n    {DOC}", "f", None, "*rest"),
    "**kwargs": (f"def f(x: int, **options: str):\n    {DOC}", "f", None, "**options"),
    "positional-only": (f"def f(x: int, /):\n    {DOC}", "f", None, "positional-only"),
    "bare Optional": (f"from typing import Optional\ndef f(x: Optional):\n    {DOC}", "f", "x", "needs type arguments"),
    "wrong arity": (
        f"from typing import List\ndef f(x: List[int, str]):\n    {DOC}",
        "f",
        "x",
        "takes 1 type argument",
    ),
    "non-str dict keys": (f"def f(x: dict[int, str]):\n    {DOC}", "f", "x", "keys are strings"),
    "subscripted scalar": (f"def f(x: int[str]):\n    {DOC}", "f", "x", "not a generic type"),
    "bytes literal": (
        f"from typing import Literal\ndef f(x: Literal[b'a']):\n    {DOC}",
        "f",
        "x",
        "not a JSON scalar",
    ),
    "unparsable string annotation": (f"def f(x: 'list['):\n    {DOC}", "f", "x", "not valid Python"),
    "absurdly nested annotation": (f"def f(x: {'list[' * 40}int{']' * 40}):\n    {DOC}", "f", "x", "nested more than"),
    "plain class": (
        f"class Point:\n    pass\n\ndef f(x: Point):\n    {DOC}",
        "f",
        "x",
        "PydanticSchemaGenerationError",
    ),
    "recursive model": (
        f"from pydantic import BaseModel\nclass Node(BaseModel):\n    kids: list['Node']\ndef f(x: Node):\n    {DOC}",
        "f",
        "x",
        "refers to itself",
    ),
    "undefined name": (f"def f(x: Missing):\n    {DOC}", "f", None, "NameError"),
    "undefined name under future annotations": (
        f"from __future__ import annotations\nimport enum\ndef f(x: Missing):\n    {DOC}",
        "f",
        "x",
        "NameError",
    ),
}


@pytest.mark.parametrize(("source", "function", "parameter", "fragment"), CASES.values(), ids=CASES.keys())
def test_error_names_function_and_parameter(source: str, function: str, parameter: str | None, fragment: str) -> None:
    with pytest.raises(ToolSchemaError) as caught:
        derive_json_schema(textwrap.dedent(source))
    message = str(caught.value)
    assert f"tool {function!r}" in message
    assert fragment in message
    if parameter is not None:
        assert f"parameter {parameter!r}" in message


def test_schema_errors_are_client_errors() -> None:
    with pytest.raises(InvalidInputError) as caught:
        derive_json_schema("def f(x):\n    pass")
    assert caught.value.status_code == 400
    assert caught.value.detail == str(caught.value)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("x = 1\n", "defines no top-level function"),
        ("class Tool:\n    def run(self, x: int) -> int:\n        return x\n", "defines no top-level function"),
        ("def f(:\n    pass\n", "syntax error at line 1, column 7"),
        ("def f():\n    return 1\n  oops\n", "syntax error at line 3"),
        ("def f():\n    return '\0'\n", "null bytes"),
        ("x = " + "+".join(["a"] * 200_000) + "\ndef f():\n    pass\n", "cannot be parsed: RecursionError"),
    ],
)
def test_sources_without_a_usable_function(source: str, fragment: str) -> None:
    for call in (derive_json_schema, function_name):
        with pytest.raises(ToolSchemaError, match="tool source: ") as caught:
            call(source)
        assert fragment in str(caught.value)
