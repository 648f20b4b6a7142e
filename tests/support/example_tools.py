"""Functions and models from the Letta docs (seeds), sent through letta-client as tool sources."""

from pathlib import Path
from typing import List, Type

from letta_client.client import BaseTool
from pydantic import BaseModel, Field


def roll_dice() -> str:
    """
    Simulate the roll of a 20-sided die (d20).

    This function generates a random integer between 1 and 20, inclusive,
    which represents the outcome of a single roll of a d20.

    Returns:
        str: The result of the die roll.
    """
    import random

    dice_role_outcome = random.randint(1, 20)
    output_string = f"You rolled a {dice_role_outcome}"
    return output_string


class Step(BaseModel):
    name: str = Field(..., description="Name of the step.")
    description: str = Field(
        ..., description="An exhaustic description of what this step is trying to achieve and accomplish."
    )


class StepsList(BaseModel):
    steps: list[Step] = Field(..., description="List of steps to add to the task plan.")
    explanation: str = Field(..., description="Explanation for the list of steps.")


def create_task_plan(steps, explanation):
    """Creates a task plan for the current task."""
    return steps


class InventoryItem(BaseModel):
    sku: str  # Unique product identifier
    name: str  # Product name
    price: float  # Current price
    category: str  # Product category (e.g., "Electronics", "Clothing")


class InventoryEntry(BaseModel):
    timestamp: int  # Unix timestamp of the transaction
    item: InventoryItem  # The product being updated
    transaction_id: str  # Unique identifier for this inventory update


class InventoryEntryData(BaseModel):
    data: InventoryEntry
    quantity_change: int  # Change in quantity (positive for additions, negative for removals)


class ManageInventoryTool(BaseTool):
    name: str = "manage_inventory"
    args_schema: Type[BaseModel] = InventoryEntryData
    description: str = "Update inventory catalogue with a new data entry"
    tags: List[str] = ["inventory", "shop"]

    def run(self, data: InventoryEntry, quantity_change: int) -> bool:
        print(f"Updated inventory for {data.item.name} with a quantity change of {quantity_change}")
        return True


CHECK_ORDER_STATUS_SOURCE = (Path(__file__).parents[1] / "schema_corpus" / "seed_check_order_status.py").read_text()
"""The seed's "Creating a tool from a file" example, as the schema corpus keeps it."""
