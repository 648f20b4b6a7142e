# A one-value Literal is still an enum (pydantic says const), and Optional[Literal] keeps the enum.
from typing import Literal, Optional


def confirm(answer: Literal["yes"], channel: Optional[Literal["email", "sms"]] = None) -> str:
    """Confirm the action.

    Args:
        answer: Must be yes.
        channel: Where to send the receipt.
    """
    return answer
