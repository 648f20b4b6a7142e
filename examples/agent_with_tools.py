"""An agent with a custom tool, an MCP tool and a memory block, as the Letta docs build one ("Building Stateful
Agents", "Define and customize tools", "Memory Blocks"), talking to any OpenAI-compatible endpoint.

Start the server with a provider, e.g. OpenAI, or a local Ollama / vLLM / LM Studio by its base URL:

    OPENAI_API_KEY=sk-... scripts/serve
    OPENAI_API_KEY=unused OPENAI_BASE_URL=http://127.0.0.1:11434/v1 scripts/serve   # Ollama

then: TOOLHUB_MODEL=openai/gpt-4o-mini .venv/bin/python examples/agent_with_tools.py
"""

import os
import shutil
import time

from letta_client import Letta, MessageCreate, StdioServerConfig

BASE_URL = os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283")
MODEL = os.environ.get("TOOLHUB_MODEL", "openai/gpt-4o-mini")


def shipping_cost(weight_kg: float, express: bool = False) -> str:
    """Compute the shipping cost of a parcel.

    Args:
        weight_kg: The parcel's weight in kilograms.
        express: Whether to ship express (twice the price).

    Returns:
        str: The cost in euros.
    """
    cost = 4.5 + 1.2 * weight_kg
    return f"{cost * (2 if express else 1):.2f} EUR"


def main() -> None:
    client = Letta(base_url=BASE_URL)
    custom = client.tools.upsert_from_function(func=shipping_cost)

    command = shutil.which("mcp-server-time") or "mcp-server-time"
    client.tools.add_mcp_server(
        request=StdioServerConfig(server_name="agent-time", command=command, args=["--local-timezone", "UTC"])
    )
    for _ in range(100):  # the MCP session opens in the background
        if client.tools.list_mcp_servers()["agent-time"].status["state"] != "connecting":
            break
        time.sleep(0.1)
    clock = client.tools.add_mcp_tool(mcp_server_name="agent-time", mcp_tool_name="get_current_time")

    agent = client.agents.create(
        name="shop-assistant",
        agent_type="letta_v1_agent",
        model=MODEL,
        embedding="openai/text-embedding-3-small",
        memory_blocks=[
            {"label": "human", "value": "The customer lives in Lyon and prefers express shipping."},
            {"label": "persona", "value": "I am a concise shop assistant."},
        ],
        tool_ids=[custom.id, clock.id],
    )
    print(f"agent {agent.id} with tools {sorted(tool.name for tool in agent.tools)}")

    response = client.agents.messages.create(
        agent_id=agent.id,
        messages=[MessageCreate(role="user", content="What does a 2 kg parcel cost, and what time is it in UTC?")],
    )
    for message in response.messages:
        if message.message_type == "tool_call_message":
            print(f"call: {message.tool_call.name}({message.tool_call.arguments})")
        elif message.message_type == "tool_return_message":
            print(f"return: {message.status} {message.tool_return[:80]}")
        elif message.message_type == "assistant_message":
            print(f"assistant: {message.content}")
    print("stop reason:", response.stop_reason.stop_reason)

    client.agents.delete(agent_id=agent.id)
    client.tools.delete_mcp_server(mcp_server_name="agent-time")


if __name__ == "__main__":
    main()
