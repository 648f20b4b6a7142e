"""Every tool source in tests/schema_corpus derives to its expected schema and strict variant, key order included."""

import json
from pathlib import Path

import pytest

from toolhub.tools.schema.derive import derive_json_schema
from toolhub.tools.schema.strict import strict_variant

CORPUS = Path(__file__).parents[2] / "schema_corpus"
CASES = sorted(CORPUS.glob("*.py"))


def _expected(source: Path) -> dict:
    return json.loads(source.with_suffix(".json").read_text())


@pytest.mark.parametrize("source", CASES, ids=lambda path: path.stem)
def test_derived_schema(source: Path) -> None:
    expected = _expected(source)["schema"]
    schema = derive_json_schema(source.read_text())
    assert schema == expected
    assert json.dumps(schema) == json.dumps(expected)


@pytest.mark.parametrize("source", CASES, ids=lambda path: path.stem)
def test_strict_variant_and_health(source: Path) -> None:
    expected = _expected(source)
    strict, health = strict_variant(expected["schema"])
    assert health == expected["health"]
    assert json.dumps(strict) == json.dumps(expected["strict"])


def test_strict_variant_leaves_its_input_alone() -> None:
    schema = _expected(CORPUS / "pydantic_optional_list.py")["schema"]
    before = json.dumps(schema)
    strict_variant(schema)
    assert json.dumps(schema) == before
