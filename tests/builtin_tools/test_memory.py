"""Letta's memory tools on an agent's blocks: edits land in the Memory, refusals say why."""

import pytest

from toolhub.agent.prompt import BlockView
from toolhub.builtin_tools.memory import EDITED, MEMORY_TOOLS, Memory, MemoryEditError


def memory() -> Memory:
    return Memory.of(
        [
            BlockView(id="block-1", label="human", value="Name: Ada\nLikes: tea", limit=60),
            BlockView(id="block-2", label="rules", value="Be kind.", limit=100, read_only=True),
        ]
    )


def test_append_and_replace_edit_the_block_and_mark_it_changed():
    mem = memory()
    MEMORY_TOOLS["core_memory_append"](mem, label="human", content="Lives: London")
    MEMORY_TOOLS["core_memory_replace"](mem, label="human", old_content="tea", new_content="coffee")
    assert mem.blocks["human"].value == "Name: Ada\nLikes: coffee\nLives: London"
    assert mem.changed == {"human"}


def test_memory_insert_at_a_line_and_at_the_end():
    mem = memory()
    assert MEMORY_TOOLS["memory_insert"](mem, label="human", new_str="Age: 36", insert_line=1) == EDITED.format(
        label="human"
    )
    MEMORY_TOOLS["memory_insert"](mem, label="human", new_str="End")
    assert mem.blocks["human"].value.split("\n") == ["Name: Ada", "Age: 36", "Likes: tea", "End"]


def test_memory_replace_needs_exactly_one_occurrence():
    mem = memory()
    with pytest.raises(MemoryEditError, match="did not appear verbatim"):
        MEMORY_TOOLS["memory_replace"](mem, label="human", old_str="absent", new_str="x")
    MEMORY_TOOLS["memory_insert"](mem, label="human", new_str="Likes: tea")
    with pytest.raises(MemoryEditError, match=r"Multiple occurrences .* in lines \[2, 3\]"):
        MEMORY_TOOLS["memory_replace"](mem, label="human", old_str="Likes: tea", new_str="x")
    assert mem.blocks["human"].value.count("Likes: tea") == 2


def test_refusals_leave_the_blocks_alone():
    mem = memory()
    with pytest.raises(MemoryEditError, match="read-only"):
        MEMORY_TOOLS["core_memory_append"](mem, label="rules", content="x")
    with pytest.raises(MemoryEditError, match="No memory block with label 'nope'"):
        MEMORY_TOOLS["memory_replace"](mem, label="nope", old_str="a", new_str="b")
    with pytest.raises(MemoryEditError, match="Exceeds 60 character limit"):
        MEMORY_TOOLS["core_memory_append"](mem, label="human", content="x" * 60)
    with pytest.raises(MemoryEditError, match="line number prefixes"):
        MEMORY_TOOLS["memory_insert"](mem, label="human", new_str="Line 2: x")
    assert mem.changed == set()
    assert mem.blocks["human"].value == "Name: Ada\nLikes: tea"


def test_memory_rethink_overwrites_or_creates_a_block():
    mem = memory()
    MEMORY_TOOLS["memory_rethink"](mem, label="human", new_memory="Name: Grace")
    MEMORY_TOOLS["memory_rethink"](mem, label="plans", new_memory="Visit Rome")
    assert mem.blocks["human"].value == "Name: Grace"
    assert mem.blocks["plans"].value == "Visit Rome" and mem.blocks["plans"].id == ""
    assert mem.changed == {"human", "plans"}
