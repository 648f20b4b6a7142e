"""Which path derives a schema (static AST or confined child), and that both paths agree exactly."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import pytest

import toolhub.tools.schema.derive as schema_module
from toolhub.tools.schema.derive import derive_json_schema, function_name
from toolhub.tools.schema.annotations import NeedsEvaluation

CORPUS = Path(__file__).parents[2] / "schema_corpus"
SAMPLE = Path(__file__).parents[2] / "fixtures" / "letta-samples" / "compat_tools_create.json"

# corpus cases whose annotations name a type the source defines or imports
EVALUATED = {
    "enum_int", "enum_str", "future_annotations_pydantic", "list_of_pydantic", "model_docstring_nested",
    "nested_pydantic_as_arg", "pydantic_as_single_arg", "pydantic_enum_literal_fields", "pydantic_model_with_dict",
    "pydantic_optional_list", "seed_check_order_status", "seed_create_task_plan", "seed_manage_inventory",
}  # fmt: skip
STATIC = sorted(path for path in CORPUS.glob("*.py") if path.stem not in EVALUATED)


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the functions handed to the child process during the test."""
    seen: list[str] = []
    real = schema_module.probe_parameters

    def spy(source_code: str, function: str, *args: Any, **kwargs: Any) -> dict[str, dict[str, Any]]:
        seen.append(function)
        return real(source_code, function, *args, **kwargs)

    monkeypatch.setattr(schema_module, "probe_parameters", spy)
    return seen


def test_letta_sample_matches_exactly() -> None:
    recorded = json.loads(SAMPLE.read_text())
    schema = derive_json_schema(recorded["request_body"]["source_code"])
    assert json.dumps(schema) == json.dumps(recorded["body"]["json_schema"])


@pytest.mark.parametrize("source", sorted(CORPUS.glob("*.py")), ids=lambda path: path.stem)
def test_corpus_path_choice(source: Path, probes: list[str]) -> None:
    derive_json_schema(source.read_text())
    assert bool(probes) == (source.stem in EVALUATED)


HEADER = "from typing import Annotated, List, Optional\nfrom pydantic import Field\nimport datetime, enum\n"
DECISIONS = {
    "builtins": ("x: int", False),
    "typing names": ("x: Optional[List[str]]", False),
    "Annotated Field description": ("x: Annotated[int, Field(description='An x.')]", False),
    "Annotated string": ("x: Annotated[int, 'An x.']", False),
    "Field with a constraint": ("x: Annotated[int, Field(ge=1, description='An x.')]", True),
    "other Annotated metadata": ("x: Annotated[int, enum.auto]", True),
    "a builtin outside the list": ("x: set[int]", True),
    "an imported module's type": ("x: datetime.date", True),
    "a rebound builtin": ("x: str", True, "str = int\n"),
    "a shadowed typing name": ("x: List", True, "from pydantic import BaseModel\nclass List(BaseModel):\n    y: int\n"),
    "a star import": ("x: int", True, "from os.path import *\n"),
    "a quoted model name": (
        "x: 'Point'",
        True,
        "from pydantic import BaseModel\nclass Point(BaseModel):\n    y: int\n",
    ),
}


@pytest.mark.parametrize("case", DECISIONS.values(), ids=DECISIONS.keys())
def test_path_decision(case: tuple, probes: list[str]) -> None:
    parameter, evaluated, *prefix = case
    source = HEADER + "".join(prefix) + f'def f({parameter}):\n    """F.\n\n    Args:\n        x: An x.\n    """\n'
    derive_json_schema(source)
    assert bool(probes) == evaluated


def test_child_process_agrees_with_static_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every static corpus case, forced through the child process (concurrently: the API is thread-safe)."""
    expected = [json.loads(path.with_suffix(".json").read_text())["schema"] for path in STATIC]

    def never_static(*args: Any, **kwargs: Any) -> NoReturn:
        raise NeedsEvaluation

    monkeypatch.setattr(schema_module, "parameter_schema", never_static)
    with ThreadPoolExecutor(max_workers=4) as pool:
        derived = list(pool.map(lambda path: derive_json_schema(path.read_text()), STATIC))
    assert [json.dumps(schema) for schema in derived] == [json.dumps(schema) for schema in expected]


def test_name_overrides_the_function_name() -> None:
    source = 'def roll():\n    """Roll a die."""\n'
    assert derive_json_schema(source, name="roll_d6")["name"] == "roll_d6"


def test_request_heartbeat_is_never_added() -> None:
    for path in CORPUS.glob("*.json"):
        assert "request_heartbeat" not in path.read_text()


def test_function_name_is_the_last_top_level_def() -> None:
    source = (CORPUS / "last_function_wins.py").read_text()
    assert function_name(source) == "shout"
    assert function_name("async def fetch():\n    pass\n\ndef _helper():\n    pass\n") == "_helper"
