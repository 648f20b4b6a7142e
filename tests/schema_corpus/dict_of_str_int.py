# dict[str, T] is an object whose values follow T (additionalProperties).
from typing import Dict


def set_stock(counts: dict[str, int], prices: Dict[str, list[float]]) -> str:
    """Set stock levels.

    Args:
        counts: Units in stock, by SKU.
        prices: Price history, by SKU.
    """
    return "ok"
