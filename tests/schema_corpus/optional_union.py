# Optional[Union[A, B]] (Letta rejects it): anyOf of the non-null types, not required.
from typing import Optional, Union


def lookup_maybe(key: Optional[Union[int, str]] = None) -> str:
    """Look a record up, or the latest one.

    Args:
        key: Numeric id or name of the record; the latest record when left out.
    """
    return str(key)
