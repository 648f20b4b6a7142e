# None inside a Literal makes the parameter optional, like Optional; the enum keeps the other values.
from typing import Literal


def set_priority(task: str, priority: Literal["low", "high", None]) -> str:
    """Set a task's priority.

    Args:
        task: The task id.
        priority: The new priority; leave it out to clear it.
    """
    return task
