"""Create tools whose arguments are Pydantic models: `args_schema=` and a `BaseTool` subclass.

Run a server first (scripts/serve), then: .venv/bin/python examples/pydantic_tool.py
"""

import os
from typing import List, Type

from letta_client import Letta
from letta_client.client import BaseTool
from pydantic import BaseModel, Field


class Step(BaseModel):
    name: str = Field(..., description="Name of the step.")
    description: str = Field(..., description="What this step is trying to achieve.")


class StepsList(BaseModel):
    steps: list[Step] = Field(..., description="List of steps to add to the task plan.")
    explanation: str = Field(..., description="Explanation for the list of steps.")


def create_task_plan(steps, explanation):
    """Creates a task plan for the current task."""
    return steps


class InventoryItem(BaseModel):
    sku: str
    name: str
    price: float
    category: str


class InventoryEntry(BaseModel):
    timestamp: int
    item: InventoryItem
    transaction_id: str


class InventoryEntryData(BaseModel):
    data: InventoryEntry
    quantity_change: int


class ManageInventoryTool(BaseTool):
    name: str = "manage_inventory"
    args_schema: Type[BaseModel] = InventoryEntryData
    description: str = "Update inventory catalogue with a new data entry"
    tags: List[str] = ["inventory", "shop"]

    def run(self, data: InventoryEntry, quantity_change: int) -> bool:
        print(f"Updated inventory for {data.item.name} with a quantity change of {quantity_change}")
        return True


def main() -> None:
    client = Letta(base_url=os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283"))
    plan = client.tools.upsert_from_function(func=create_task_plan, args_schema=StepsList)
    print(f"registered {plan.name}: parameters {list(plan.json_schema['parameters']['properties'])}")
    inventory = client.tools.add(tool=ManageInventoryTool())
    print(f"registered {inventory.name} with tags {inventory.tags}, schema health {inventory.schema_health}")


if __name__ == "__main__":
    main()
