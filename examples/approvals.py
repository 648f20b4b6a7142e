"""Human in the loop, as Letta 0.16 serves it to letta-client 1.x: a tool whose calls wait for approval, one
approved and one denied, and a client-side tool that the client runs itself.

- A tool made with `default_requires_approval=True` (or a `requires_approval` rule, or
  `client.agents.tools.update_approval(...)` for one agent) stops the turn with an `approval_request_message` and
  the stop reason `requires_approval`. The next request answers it: approve, or deny with a reason the model reads.
- `client_tools` on a request are offered to the model and never run on the server: a call to one stops the turn
  the same way, and the client answers with the tool's return.

Needs letta-client 1.x (`.venv-letta1`, made by `scripts/bootstrap dev`). Start the server with a provider, e.g.
`OPENAI_API_KEY=sk-... scripts/serve`, then:

    TOOLHUB_MODEL=openai/gpt-4o-mini .venv-letta1/bin/python examples/approvals.py
"""

import os

from letta_client import Letta

BASE_URL = os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283")
MODEL = os.environ.get("TOOLHUB_MODEL", "openai/gpt-4o-mini")

DEPLOY = '''def deploy_service(service: str, target: str) -> str:
    """Deploy a service.

    Args:
        service: The service to deploy.
        target: The environment, e.g. prod.

    Returns:
        str: What was deployed where.
    """
    return f"{service} deployed to {target}"
'''
ASK_LOCATION = {
    "name": "ask_user_location",
    "description": "Ask the user's device where the user is.",
    "parameters": {"type": "object", "properties": {}, "required": []},
}


def show(response) -> list:
    """Print a response; answer the calls that wait for the client."""
    waiting = []
    for message in response.messages:
        if message.message_type == "approval_request_message":
            for call in message.tool_calls:
                if call.name == ASK_LOCATION["name"]:
                    print(f"client tool asked: {call.name}")
                else:
                    print(f"waiting for approval: {call.name}({call.arguments})")
                waiting.append(call)
        elif message.message_type == "tool_return_message":
            print(f"return ({message.status}): {message.tool_return}")
        elif message.message_type == "assistant_message":
            print(f"assistant: {message.content}")
    print("stop reason:", response.stop_reason.stop_reason)
    return waiting


def main() -> None:
    client = Letta(base_url=BASE_URL)
    tool = client.tools.create(source_code=DEPLOY, default_requires_approval=True)
    agent = client.agents.create(
        name="release-bot", model=MODEL, embedding="openai/text-embedding-3-small", tool_ids=[tool.id]
    )

    (call,) = show(client.agents.messages.create(agent_id=agent.id, input="Deploy billing to prod."))
    approve = {"type": "approval", "tool_call_id": call.tool_call_id, "approve": True}
    show(client.agents.messages.create(agent_id=agent.id, messages=[{"type": "approval", "approvals": [approve]}]))

    (call,) = show(client.agents.messages.create(agent_id=agent.id, input="Deploy search to prod."))
    reason = "search is frozen this week"
    deny = {"type": "approval", "tool_call_id": call.tool_call_id, "approve": False, "reason": reason}
    show(client.agents.messages.create(agent_id=agent.id, messages=[{"type": "approval", "approvals": [deny]}]))

    (call,) = show(client.agents.messages.create(agent_id=agent.id, input="Where am I?", client_tools=[ASK_LOCATION]))
    result = {"type": "tool", "tool_call_id": call.tool_call_id, "tool_return": "Lyon", "status": "success"}
    show(client.agents.messages.create(
        agent_id=agent.id, client_tools=[ASK_LOCATION], messages=[{"type": "approval", "approvals": [result]}]
    ))
    client.agents.delete(agent_id=agent.id)


if __name__ == "__main__":
    main()
