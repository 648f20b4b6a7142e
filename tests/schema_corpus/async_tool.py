# An async def is a tool like any other.
import asyncio


async def wait_for(seconds: float) -> str:
    """Wait a little.

    Args:
        seconds: How long to wait.
    """
    await asyncio.sleep(seconds)
    return "done"
