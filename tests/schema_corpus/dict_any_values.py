# dict[str, Any] is as free-form as a bare dict.
from typing import Any, Optional


def annotate(target: str, labels: dict[str, Any], extra: Optional[dict[str, str]] = None) -> str:
    """Annotate a target.

    Args:
        target: What to annotate.
        labels: Arbitrary labels.
        extra: String-only extra labels.
    """
    return target
