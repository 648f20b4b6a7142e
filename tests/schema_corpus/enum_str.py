# An Enum subclass is defined by the source, so it is evaluated in the confined process.
from enum import Enum


class Color(str, Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


def paint(color: Color) -> str:
    """Paint the wall.

    Args:
        color: The paint color.
    """
    return color.value
