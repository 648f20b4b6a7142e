# Letta docs seed: the StepsList example, written with annotations so the schema can be derived.
from pydantic import BaseModel, Field


class Step(BaseModel):
    name: str = Field(
        ...,
        description="Name of the step.",
    )
    description: str = Field(
        ...,
        description="An exhaustic description of what this step is trying to achieve and accomplish.",
    )


def create_task_plan(steps: list[Step], explanation: str):
    """Creates a task plan for the current task.

    Args:
        steps: List of steps to add to the task plan.
        explanation: Explanation for the list of steps.
    """
    return steps
