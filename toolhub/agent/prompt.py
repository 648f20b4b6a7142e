"""The system prompt the model reads: the agent's `system` text with its memory blocks rendered as Letta renders
them (a `<memory_blocks>` section, each block with its description, size and value), the agent's tool rules
(`<tool_usage_rules>`), then a short metadata section. Rebuilt before every step, so a memory edit is seen by the
next LLM call."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

CORE_MEMORY_VARIABLE = "{CORE_MEMORY}"

DEFAULT_SYSTEM_PROMPT = """You are a helpful assistant with a persistent memory, running on toolhub.
Your core memory is made of memory blocks, shown below; keep them up to date with your memory tools when you learn
something worth remembering. Use the tools you are given when they help you answer."""


@dataclass(frozen=True, kw_only=True)
class BlockView:
    """A memory block as the prompt (and the memory tools) see it."""

    id: str
    label: str
    value: str
    limit: int
    description: str | None = None
    read_only: bool = False


def render_blocks(blocks: Sequence[BlockView]) -> str:
    parts = ["<memory_blocks>", "The following memory blocks are currently engaged in your core memory unit:", ""]
    for block in blocks:
        parts.append(f"<{block.label}>")
        if block.description:
            parts += ["<description>", block.description, "</description>"]
        parts += ["<metadata>"]
        if block.read_only:
            parts.append("- read_only=true")
        parts += [f"- chars_current={len(block.value)}", f"- chars_limit={block.limit}", "</metadata>"]
        parts += ["<value>", block.value, "</value>", f"</{block.label}>", ""]
    parts.append("</memory_blocks>")
    return "\n".join(parts)


def render_system_prompt(
    system: str, blocks: Sequence[BlockView], *, now: datetime, previous_messages: int = 0, rules: str | None = None
) -> str:
    """`system` with the blocks (and the rendered tool `rules`, when any) in place of `{CORE_MEMORY}` (or after it
    when it has no such variable)."""
    memory = render_blocks(blocks) if rules is None else f"{render_blocks(blocks)}\n\n{rules}"
    metadata = "\n".join(
        [
            "<memory_metadata>",
            f"- The current time is: {now.strftime('%Y-%m-%d %I:%M:%S %p %Z%z')}",
            f"- {previous_messages} previous messages between you and the user are stored in recall memory "
            "(use tools to access them)",
            "</memory_metadata>",
        ]
    )
    text = system or DEFAULT_SYSTEM_PROMPT
    if CORE_MEMORY_VARIABLE in text:
        return text.replace(CORE_MEMORY_VARIABLE, memory) + "\n\n" + metadata
    return f"{text}\n\n{memory}\n\n{metadata}"
