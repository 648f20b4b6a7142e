# A Google "Examples:" section is appended to the description after a blank line; Returns is dropped.
def word_count(text: str) -> int:
    """Count the words in a text.

    Words are separated by whitespace.

    Args:
        text: The text to count.

    Returns:
        int: Number of words.

    Examples:
        >>> word_count("hello world")
        2
    """
    return len(text.split())
