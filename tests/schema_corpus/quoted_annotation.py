# A quoted annotation without the __future__ import.
def resize(width: "int", height: "list[int]") -> str:
    """Resize the window.

    Args:
        width: New width in pixels.
        height: Allowed heights in pixels.
    """
    return "ok"
