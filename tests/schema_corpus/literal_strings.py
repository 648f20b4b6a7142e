# Literal of strings is a string enum.
from typing import Literal


def set_mode(mode: Literal["fast", "safe", "balanced"]) -> str:
    """Switch the engine mode.

    Args:
        mode: The mode to switch to.
    """
    return mode
