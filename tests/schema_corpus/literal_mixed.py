# Literal mixing types lists every JSON type it uses.
from typing import Literal


def set_level(level: Literal["auto", 1, 2, 3]) -> str:
    """Set the level.

    Args:
        level: A level from 1 to 3, or auto.
    """
    return str(level)
