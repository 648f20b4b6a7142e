"""Letta's 22 base tools: names, tool types and JSON schemas identical to Letta 0.8.17's.

The schemas are data (`base_tools.json`), not derived from Python here, so they stay byte-for-byte Letta's.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

BASE_TOOL_RETURN_CHAR_LIMIT = 1_000_000

_DATA = Path(__file__).with_name("base_tools.json")


@cache
def base_tool_specs() -> tuple[dict[str, Any], ...]:
    """Each spec: `name`, `tool_type`, `json_schema`."""
    return tuple(json.loads(_DATA.read_text()))


@cache
def base_tool_names() -> frozenset[str]:
    return frozenset(spec["name"] for spec in base_tool_specs())


def base_tool_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """Column values for one base tool, as Letta's `upsert_base_tools` stores them."""
    return {
        "name": spec["name"],
        "tool_type": spec["tool_type"],
        "description": spec["json_schema"]["description"],
        "source_type": "python",
        "source_code": None,
        "json_schema": spec["json_schema"],
        "args_json_schema": None,
        "tags": [spec["tool_type"]],
        "return_char_limit": BASE_TOOL_RETURN_CHAR_LIMIT,
        "pip_requirements": None,
        "metadata_": {},
    }
