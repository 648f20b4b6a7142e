# Optional[T] is the schema of T and not required; strict mode makes it required but nullable.
from typing import Optional


def find_user(name: str, age: Optional[int]) -> str:
    """Find a user.

    Args:
        name: The user's name.
        age: The user's age, if known.
    """
    return name
