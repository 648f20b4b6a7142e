# A model with a free-form dict field: fine for the model, but no strict variant.
from pydantic import BaseModel, Field


class Event(BaseModel):
    name: str = Field(description="Event name.")
    properties: dict = Field(default_factory=dict, description="Free-form event properties.")


def track(event: Event) -> str:
    """Track an analytics event.

    Args:
        event: The event to track.
    """
    return "ok"
