# NumPy-style docstring, with its Examples section appended to the description.
def scale(value: float, factor: float = 2.0) -> float:
    """Scale a value.

    Multiplies the value by the factor.

    Parameters
    ----------
    value : float
        The value to scale.
    factor : float
        The factor to multiply by.

    Returns
    -------
    float
        The scaled value.

    Examples
    --------
    >>> scale(3.0)
    6.0
    """
    return value * factor
