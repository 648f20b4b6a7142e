# tuple[A, ...] is an array of A.
from typing import Tuple


def sum_all(values: tuple[int, ...], scales: Tuple[float, ...]) -> int:
    """Sum integers.

    Args:
        values: The integers to add.
        scales: Scale factors.
    """
    return sum(values)
