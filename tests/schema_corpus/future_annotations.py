# With `from __future__ import annotations` every annotation is a string; still read statically.
from __future__ import annotations

from typing import Optional


def rename(path: str, new_name: str, overwrite: Optional[bool] = None, tags: list[str] | None = None) -> str:
    """Rename a file.

    Args:
        path: Path of the file.
        new_name: The new file name.
        overwrite: Replace an existing file of that name.
        tags: Tags to attach.
    """
    return new_name
