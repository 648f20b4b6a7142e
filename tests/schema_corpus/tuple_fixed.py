# tuple[A, B] is a fixed-length array (prefixItems), which strict mode cannot express.
def move_to(position: tuple[float, float], label: tuple[str, int, bool]) -> str:
    """Move the cursor.

    Args:
        position: x and y coordinates.
        label: Text, size and whether it is bold.
    """
    return "ok"
