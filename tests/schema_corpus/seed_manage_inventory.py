# Letta docs seed (changelog, "Complex Schema Support"): nested models without field descriptions,
# an Optional field with a None default and a field with a literal default.
from pydantic import BaseModel
from typing import List, Optional


class ItemData(BaseModel):
    name: str
    sku: str
    price: float
    description: Optional[str] = None


class InventoryEntry(BaseModel):
    """One inventory change: the item, where it is stocked, and the stock levels."""

    item: ItemData
    location: str
    current_stock: int
    minimum_stock: int = 5


def manage_inventory(data: InventoryEntry, quantity_change: int) -> bool:
    """
    Update inventory catalogue with a new data entry.

    Args:
        data: The inventory entry to record.
        quantity_change: Change in quantity (positive for additions, negative for removals).
    """
    print(f"Updated inventory for {data.item.name} with a quantity change of {quantity_change}")
    return True
