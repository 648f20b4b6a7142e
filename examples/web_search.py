"""An agent that searches the web and runs code with Letta's built-in tools (`web_search`, `run_code`).

Start the server with a model and the services' keys:

    OPENAI_API_KEY=sk-... TAVILY_API_KEY=tvly-... E2B_API_KEY=e2b_... scripts/serve

then: TOOLHUB_MODEL=openai/gpt-4o-mini .venv/bin/python examples/web_search.py
"""

import json
import os

import httpx

BASE_URL = os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283")
MODEL = os.environ.get("TOOLHUB_MODEL", "openai/gpt-4o-mini")


def main() -> None:
    with httpx.Client(base_url=BASE_URL, timeout=120) as http:
        http.get("/v1/tools/").raise_for_status()  # the base tools exist once listed
        agent = http.post("/v1/agents/", json={
            "name": "researcher", "agent_type": "letta_v1_agent", "model": MODEL,
            "embedding": "openai/text-embedding-3-small", "tools": ["web_search", "run_code"],
        })
        agent.raise_for_status()
        question = "Find the population of Lisbon, then use run_code to compute how many people that is per km²."
        answer = http.post(f"/v1/agents/{agent.json()['id']}/messages",
                           json={"messages": [{"role": "user", "content": question}]})
        answer.raise_for_status()
        for message in answer.json()["messages"]:
            if message["message_type"] == "tool_return_message":
                print("tool:", json.dumps(json.loads(message["tool_return"]), indent=2)[:800])
            elif message["message_type"] == "assistant_message":
                print("agent:", message["content"])


if __name__ == "__main__":
    main()
