# A bare `list` becomes an array of strings, as in Letta.
def tag_items(tags: list) -> str:
    """Tag the current items.

    Args:
        tags: Tags to apply.
    """
    return ",".join(tags)
