# Annotated[T, "text"] is a parameter description too; the annotation wins over the docstring.
from typing import Annotated, List


def schedule(
    when: Annotated[str, "ISO 8601 date and time."],
    attendees: Annotated[List[str], "Email addresses of the attendees."],
) -> str:
    """Schedule a meeting.

    Args:
        when: Ignored, the annotation says it better.
    """
    return "ok"
