# Optional[List[Model]] (Letta issue #2508): an array of objects, not required; nested Optional fields
# with a default drop out of the model's required list, field constraints are kept.
from typing import List, Optional

from pydantic import BaseModel, Field


class Attachment(BaseModel):
    """A file attached to the message."""

    filename: str = Field(description="Name of the file.")
    size_kb: int = Field(description="Size in kilobytes.", ge=0)
    mime_type: Optional[str] = Field(default=None, description="MIME type, when known.")


def send_message(text: str, attachments: Optional[List[Attachment]] = None) -> str:
    """Send a message with optional attachments.

    Args:
        text: Message text.
        attachments: Files to attach.
    """
    return "sent"
