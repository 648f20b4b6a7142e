# Qualified and renamed typing names are recognised statically.
import typing
import typing as t
from typing import List as Items


def plan(steps: Items[str], budget: typing.Optional[float] = None, notes: t.Dict[str, str] = {}) -> str:
    """Plan a project.

    Args:
        steps: The steps, in order.
        budget: Budget in euros.
        notes: Notes by step.
    """
    return "ok"
