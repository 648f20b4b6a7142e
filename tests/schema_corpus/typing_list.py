# typing.List[int] and builtin list[float].
from typing import List


def average(values: List[int], weights: list[float]) -> float:
    """Weighted average of some values.

    Args:
        values: The values.
        weights: One weight per value.
    """
    return 0.0
