"""The trivial tool that load tests and benchmarks/load.py call, and the body of its `POST /v1/tools/run`."""

ADD_SOURCE = '''def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a (int): The first number.
        b (int): The second number.

    Returns:
        int: The sum.
    """
    return a + b
'''
ADD_BODY = {"source_code": ADD_SOURCE, "args": {"a": 1, "b": 2}}
ADD_RETURN = "3"
