# Literal defaults are emitted (and make the parameter optional); a None default is not emitted.
def search(query: str, limit: int = 10, exact: bool = False, fields: list[str] = ["title", "body"],
           ratio: float = -0.5, scope: str = None) -> str:
    """Search the archive.

    Args:
        query: What to look for.
        limit: Maximum number of results.
        exact: Whether to match the whole phrase.
        fields: Fields to search in.
        ratio: Weight of recency against relevance.
        scope: Collection to search in.
    """
    return query
