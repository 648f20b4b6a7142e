# Keyword-only parameters are ordinary properties.
def export(table: str, *, fmt: str = "csv", header: bool = True) -> str:
    """Export a table.

    Args:
        table: Table to export.
        fmt: File format.
        header: Whether to write a header row.
    """
    return table
