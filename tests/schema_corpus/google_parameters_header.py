# Google style with a "Parameters:" header.
def convert(amount: float, currency: str) -> float:
    """Convert an amount to euros.

    Parameters:
        amount (float): The amount to convert.
        currency (str): ISO code of the amount's currency.
    """
    return amount
