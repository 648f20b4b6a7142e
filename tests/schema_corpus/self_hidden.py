# A `self` parameter (letta-client's BaseTool.run) is hidden too.
def greet(self, name: str) -> str:
    """Greet someone.

    Args:
        name: Who to greet.
    """
    return f"Hello {name}"
