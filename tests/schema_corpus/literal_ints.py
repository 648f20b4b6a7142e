# Literal of ints is an integer enum (Letta wrongly says string).
from typing import Literal


def roll(sides: Literal[4, 6, 8, 12, 20]) -> int:
    """Roll one die.

    Args:
        sides: Number of sides of the die.
    """
    return sides
