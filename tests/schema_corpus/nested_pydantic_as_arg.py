# Letta corpus: a model that holds list[Model] ($defs resolved and inlined) next to a primitive parameter.
from pydantic import BaseModel, Field


class Step(BaseModel):
    name: str = Field(
        ...,
        description="Name of the step.",
    )
    key: str = Field(
        ...,
        description="Unique identifier for the step.",
    )
    description: str = Field(
        ...,
        description="An exhaustic description of what this step is trying to achieve and accomplish.",
    )


class Steps(BaseModel):
    steps: list[Step] = Field(
        ...,
        description="A list of steps to add to the task plan.",
    )


def create_task_plan(steps: Steps, completed: int) -> str:
    """
    Creates a task plan for the current task.

    Args:
        steps: List of steps to add to the task plan.
        completed: The number of steps already completed.

    Returns:
        str: A summary of the updated task plan after deletion
    """
    DUMMY_MESSAGE = "Task plan created successfully."
    return DUMMY_MESSAGE
