# Arrays of arrays keep their item types all the way down.
def store_matrix(rows: list[list[int]]) -> str:
    """Store a matrix of integers.

    Args:
        rows: The matrix, one list per row.
    """
    return "ok"
