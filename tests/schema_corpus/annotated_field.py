# Annotated[T, Field(description=...)] describes a parameter the docstring does not mention.
from typing import Annotated

from pydantic import Field


def send_email(
    to: Annotated[str, Field(description="Recipient address.")],
    subject: Annotated[str, Field(description="Subject line.")],
    body: str,
) -> str:
    """Send an email.

    Args:
        body: Plain-text body.
    """
    return "sent"
