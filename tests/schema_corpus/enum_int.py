# An IntEnum gives an integer enum of its values.
from enum import IntEnum


class Priority(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3


def escalate(ticket: str, priority: Priority = Priority.MEDIUM) -> str:
    """Escalate a ticket.

    Args:
        ticket: Ticket id.
        priority: New priority; a non-literal default only makes it optional.
    """
    return ticket
