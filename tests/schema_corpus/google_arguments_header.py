# Google style with an "Arguments:" header and a description that wraps.
def translate(text: str, target: str) -> str:
    """Translate text.

    Arguments:
        text: The text to translate. It may be long and is
            sent as one piece.
        target: Target language code.
    """
    return text
