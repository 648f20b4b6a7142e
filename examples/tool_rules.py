"""Tool rules, as the Letta docs build them ("Creating Tool Rules"): a support agent that must look an order up
before it may refund it, and whose turn ends when it speaks to the customer.

- `InitToolRule`: the first call of every request is `fetch_order`;
- `ChildToolRule`: after `fetch_order`, only `refund_order` or `send_message` may follow;
- `TerminalToolRule`: `send_message` ends the turn (a default rule of the agent's base tools).

The model is only offered the tools the rules allow (the one they leave is forced); a call they forbid never runs,
and the model reads `[ToolConstraintError] …` instead and tries again.

Start the server with a provider, e.g. `OPENAI_API_KEY=sk-... scripts/serve`, then:

    TOOLHUB_MODEL=openai/gpt-4o-mini .venv/bin/python examples/tool_rules.py
"""

import os

from letta_client import ChildToolRule, InitToolRule, Letta, MessageCreate, TerminalToolRule

BASE_URL = os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283")
MODEL = os.environ.get("TOOLHUB_MODEL", "openai/gpt-4o-mini")


def fetch_order(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: The order's id, e.g. A-17.

    Returns:
        str: The order's status and amount.
    """
    return f"{order_id}: paid, 42.00 EUR"


def refund_order(order_id: str) -> str:
    """Refund an order in full.

    Args:
        order_id: The order's id.

    Returns:
        str: What was started.
    """
    return f"Refund of 42.00 EUR for {order_id} started"


def main() -> None:
    client = Letta(base_url=BASE_URL)
    fetch = client.tools.upsert_from_function(func=fetch_order)
    refund = client.tools.upsert_from_function(func=refund_order)
    agent = client.agents.create(
        name="refund-desk",
        model=MODEL,
        embedding="openai/text-embedding-3-small",
        memory_blocks=[{"label": "persona", "value": "I handle refunds, carefully."}],
        tool_ids=[fetch.id, refund.id],
        tool_rules=[
            InitToolRule(tool_name="fetch_order"),
            ChildToolRule(tool_name="fetch_order", children=["refund_order", "send_message"]),
            TerminalToolRule(tool_name="send_message"),
        ],
    )
    print("rules:", ", ".join(f"{rule.type}({rule.tool_name})" for rule in agent.tool_rules))

    response = client.agents.messages.create(
        agent_id=agent.id, messages=[MessageCreate(role="user", content="Please refund order A-17.")]
    )
    for message in response.messages:
        if message.message_type == "tool_call_message":
            print(f"call: {message.tool_call.name}({message.tool_call.arguments})")
        elif message.message_type == "tool_return_message":
            print(f"return ({message.status}): {message.tool_return}")
        elif message.message_type == "assistant_message":
            print(f"assistant: {message.content}")
    print("stop reason:", response.stop_reason.stop_reason)
    client.agents.delete(agent_id=agent.id)


if __name__ == "__main__":
    main()
