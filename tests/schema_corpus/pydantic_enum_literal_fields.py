# Enum and Literal fields inside a model; an Annotated Field description on a model parameter.
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class Unit(Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Reading(BaseModel):
    value: float = Field(description="The measured value.")
    unit: Unit = Field(description="Unit of the value (°C or °F).")
    quality: Literal[1, 2, 3] = Field(default=2, description="Sensor quality class.")


def record(reading: Annotated[Reading, Field(description="The reading to record.")]) -> str:
    """Record a sensor reading."""
    return "ok"
