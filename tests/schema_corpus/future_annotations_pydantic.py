# String annotations naming a model that is defined after the function still resolve.
from __future__ import annotations

from pydantic import BaseModel, Field


def book(trip: Trip, travellers: list[Traveller]) -> str:
    """Book a trip.

    Args:
        trip: Where and when.
        travellers: Who is going.
    """
    return "booked"


class Trip(BaseModel):
    destination: str = Field(description="City to travel to.")
    nights: int = Field(description="Number of nights.", ge=1)


class Traveller(BaseModel):
    name: str = Field(description="Full name.")
    age: int | None = Field(default=None, description="Age, for child fares.")
