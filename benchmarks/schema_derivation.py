"""p50/p95 of derive_json_schema: a builtins-only tool (static AST path) and a Pydantic one (confined child).

Run: .venv/bin/python benchmarks/schema_derivation.py [--static-runs 2000] [--pydantic-runs 30]
"""

import argparse
import statistics
import time
from collections.abc import Callable

from toolhub.tools.schema.derive import derive_json_schema
from toolhub.tools.schema.probe import bwrap_works

STATIC_TOOL = '''
from typing import List, Optional


def check_order_status(order_number: int, customer_name: str, tickets: List[str], metadata: Optional[str] = None):
    """
    Check the status for an order number (integer value).

    Args:
        order_number (int): The order number to check on.
        customer_name (str): The name of the customer who placed the order.
        tickets (List[str]): A list of ticket numbers related to the order.
        metadata (Optional[str]): Additional metadata about the order.
    """
    return f"Order {order_number} is currently processing."
'''

PYDANTIC_TOOL = '''
from pydantic import BaseModel, Field


class Step(BaseModel):
    name: str = Field(..., description="Name of the step.")
    key: str = Field(..., description="Unique identifier for the step.")


class Steps(BaseModel):
    steps: list[Step] = Field(..., description="A list of steps to add to the task plan.")


def create_task_plan(steps: Steps, completed: int) -> str:
    """
    Creates a task plan for the current task.

    Args:
        steps: List of steps to add to the task plan.
        completed: The number of steps already completed.
    """
    return "ok"
'''


def timings_ms(call: Callable[[], object], runs: int) -> list[float]:
    call()  # warm-up: imports, byte-code, the one-time bubblewrap check
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(label: str, samples: list[float]) -> None:
    cuts = statistics.quantiles(samples, n=100)
    print(f"{label:<28}: p50 {cuts[49]:.3f} ms, p95 {cuts[94]:.3f} ms over {len(samples)} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--static-runs", type=int, default=2000)
    parser.add_argument("--pydantic-runs", type=int, default=30)
    args = parser.parse_args()
    report("static (AST only)", timings_ms(lambda: derive_json_schema(STATIC_TOOL), args.static_runs))
    sandbox = "bubblewrap" if bwrap_works() else "no bubblewrap"
    report(f"pydantic (child, {sandbox})", timings_ms(lambda: derive_json_schema(PYDANTIC_TOOL), args.pydantic_runs))


if __name__ == "__main__":
    main()
