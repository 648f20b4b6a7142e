# A nested model field without its own description takes the model's docstring; the parameter's
# docstring replaces the top-level model's docstring.
from pydantic import BaseModel, Field


class Address(BaseModel):
    """Postal address."""

    street: str = Field(description="Street and number.")
    city: str = Field(description="City.")


class Customer(BaseModel):
    """A customer record."""

    name: str = Field(description="Full name.")
    address: Address


def add_customer(customer: Customer) -> str:
    """Add a customer.

    Args:
        customer: The customer to add.
    """
    return "ok"
