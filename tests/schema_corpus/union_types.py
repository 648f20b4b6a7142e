# Union[A, B] becomes anyOf; strict mode keeps anyOf and checks each branch.
from typing import Union


def lookup(key: Union[int, str]) -> str:
    """Look a record up.

    Args:
        key: Numeric id or name of the record.
    """
    return str(key)
