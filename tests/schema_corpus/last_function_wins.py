# Helpers may come first: the last top-level def is the tool (methods and nested defs do not count).
def _normalize(text: str) -> str:
    return text.strip().lower()


class Helper:
    def run(self, x: int) -> int:
        return x


def shout(text: str) -> str:
    """Shout some text.

    Args:
        text: What to shout.
    """

    def inner(y: int) -> int:
        return y

    return _normalize(text).upper()
