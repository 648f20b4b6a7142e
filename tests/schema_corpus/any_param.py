# Any accepts every JSON value: no type in the schema, so no strict variant.
from typing import Any


def store_value(key: str, value: Any) -> str:
    """Store a value.

    Args:
        key: Where to store it.
        value: The value, of any JSON type.
    """
    return key
