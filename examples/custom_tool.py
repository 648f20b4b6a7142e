"""Create a custom tool from a Python function with a docstring, as the Letta docs do.

Run a server first (scripts/serve), then: .venv/bin/python examples/custom_tool.py
"""

import os

from letta_client import Letta


def roll_dice() -> str:
    """
    Simulate the roll of a 20-sided die (d20).

    This function generates a random integer between 1 and 20, inclusive,
    which represents the outcome of a single roll of a d20.

    Returns:
        str: The result of the die roll.
    """
    import random

    return f"You rolled a {random.randint(1, 20)}"


def main() -> None:
    client = Letta(base_url=os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283"))
    tool = client.tools.upsert_from_function(func=roll_dice)
    print(f"registered {tool.name} ({tool.id})")
    print("schema:", tool.json_schema)
    result = client.tools.run_tool_from_source(source_code=tool.source_code, args={})
    print("run:", result.status, result.tool_return)


if __name__ == "__main__":
    main()
