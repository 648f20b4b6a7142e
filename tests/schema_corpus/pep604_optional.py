# `T | None` means the same as Optional[T].
def find_city(name: str, country: str | None = None) -> str:
    """Find a city.

    Args:
        name: The city's name.
        country: ISO country code to narrow the search.
    """
    return name
