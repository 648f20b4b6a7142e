"""Letta's memory tools, run in-process on an agent's blocks: `core_memory_append/replace` (Letta 0.8),
`memory_insert/replace/rethink/finish_edits` (Letta's v2 tools).

Each is a pure function of the blocks and the arguments: it returns the model-facing result and leaves its edits
in the `Memory` it was given, which the step loop writes back in the step's transaction. An edit the tool refuses
(read-only block, unknown label, over the block's limit, text not found) raises `MemoryEditError`, which the model
reads as the tool's error and may correct.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from toolhub.agent.prompt import BlockView

EDITED = (
    "The core memory block with label `{label}` has been edited. Review the changes and make sure they are as "
    "expected (correct indentation, no duplicate lines, etc). Edit the memory block again if necessary."
)
LINE_NUMBER_PREFIX = re.compile(r"\n?Line \d+: ")
NEW_BLOCK_LIMIT = 100_000


class MemoryEditError(ValueError):
    """The model asked for an edit that cannot be made; the message says why."""


@dataclass
class Memory:
    """An agent's blocks by label during one step; `changed` holds the labels the step edited or created."""

    blocks: dict[str, BlockView]
    changed: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, blocks: Iterable[BlockView]) -> "Memory":
        return cls({block.label: block for block in blocks})

    def editable(self, label: str) -> BlockView:
        block = self.blocks.get(label)
        if block is None:
            known = ", ".join(sorted(self.blocks)) or "none"
            raise MemoryEditError(f"No memory block with label '{label}' (blocks: {known})")
        if block.read_only:
            raise MemoryEditError("This block is read-only and cannot be edited.")
        return block

    def write(self, block: BlockView, value: str) -> None:
        if len(value) > block.limit:
            raise MemoryEditError(
                f"Edit failed: Exceeds {block.limit} character limit (requested {len(value)}) in block '{block.label}'"
            )
        self.blocks[block.label] = replace(block, value=value)
        self.changed.add(block.label)


def core_memory_append(memory: Memory, label: str, content: str) -> None:
    block = memory.editable(label)
    memory.write(block, f"{block.value}\n{content}")


def core_memory_replace(memory: Memory, label: str, old_content: str, new_content: str) -> None:
    block = memory.editable(label)
    if old_content not in block.value:
        raise MemoryEditError(f"Old content '{old_content}' not found in memory block '{label}'")
    memory.write(block, block.value.replace(old_content, new_content))


def memory_insert(memory: Memory, label: str, new_str: str, insert_line: int = -1) -> str:
    block = memory.editable(label)
    _no_line_numbers(new_str)
    lines = block.value.split("\n") if block.value else []
    at = len(lines) if insert_line == -1 else insert_line
    if not 0 <= at <= len(lines):
        raise MemoryEditError(
            f"Invalid `insert_line` parameter: {insert_line}. It should be within the range of lines of the memory "
            f"block: {[0, len(lines)]}, or -1 to append to the end."
        )
    memory.write(block, "\n".join([*lines[:at], *new_str.split("\n"), *lines[at:]]))
    return EDITED.format(label=label)


def memory_replace(memory: Memory, label: str, old_str: str, new_str: str = "") -> str:
    block = memory.editable(label)
    _no_line_numbers(old_str)
    _no_line_numbers(new_str)
    count = block.value.count(old_str) if old_str else 0
    if count == 0:
        raise MemoryEditError(
            f"No replacement was performed, old_str `{old_str}` did not appear verbatim in memory block with label "
            f"`{label}`."
        )
    if count > 1:
        lines = [n for n, line in enumerate(block.value.split("\n"), start=1) if old_str in line]
        raise MemoryEditError(
            f"No replacement was performed. Multiple occurrences of old_str `{old_str}` in lines {lines}. Please "
            "ensure it is unique."
        )
    memory.write(block, block.value.replace(old_str, new_str))
    return EDITED.format(label=label)


def memory_rethink(memory: Memory, label: str, new_memory: str) -> str:
    """Overwrite a block; a label the agent does not have becomes a new block (as Letta's)."""
    _no_line_numbers(new_memory)
    if label not in memory.blocks:
        memory.blocks[label] = BlockView(id="", label=label, value="", limit=NEW_BLOCK_LIMIT)
    memory.write(memory.editable(label), new_memory)
    return EDITED.format(label=label)


def memory_finish_edits(memory: Memory) -> None:
    return None


def _no_line_numbers(text: str) -> None:
    if LINE_NUMBER_PREFIX.search(text):
        raise MemoryEditError(
            "Arguments contain line number prefixes (e.g. 'Line 3: '), which are not part of the memory block; "
            "pass the text itself."
        )


MEMORY_TOOLS: Mapping[str, Callable[..., Any]] = {
    function.__name__: function
    for function in (
        core_memory_append,
        core_memory_replace,
        memory_insert,
        memory_replace,
        memory_rethink,
        memory_finish_edits,
    )
}
"""The memory tools by name; each takes the `Memory` first, then the model's arguments."""
