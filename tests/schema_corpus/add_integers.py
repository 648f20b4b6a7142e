# The shape of the recorded Letta sample (compat_tools_create.json): two ints, Google "Args:" with types.
def add_integers(a: int, b: int) -> int:
    """Add two integers and return the sum.

    Args:
        a (int): The first integer.
        b (int): The second integer.

    Returns:
        int: The sum of a and b.
    """
    return a + b
