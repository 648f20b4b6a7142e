"""Environment variables for tools: sandbox-config variables, overridden by per-call `env_vars`.

A tool never sees the server's own environment (LLM keys, database URLs, TOOLHUB_*): only PATH/LANG/TZ,
then the sandbox config's variables, then the agent's, then the call's (later wins).

Run a server first (scripts/serve), then: .venv/bin/python examples/env_vars.py
"""

import os

import httpx
from letta_client import Letta

BASE_URL = os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283")

SOURCE = '''
def get_weather(city: str) -> str:
    """Pretend to call a weather API with a key from the environment.

    Args:
        city (str): City name.
    """
    import os
    key = os.environ.get("WEATHER_API_KEY", "<none>")
    units = os.environ.get("UNITS", "metric")
    return f"{city}: 21 degrees ({units}), called with key ending {key[-4:]}"
'''


def main() -> None:
    http = httpx.Client(base_url=BASE_URL)
    config = http.post("/v1/sandbox-config/local/default").json()
    env_url = f"/v1/sandbox-config/{config['id']}/environment-variable"
    existing = {v["key"]: v["id"] for v in http.get(env_url).json()}
    for key, value in (("WEATHER_API_KEY", "sk-example-1234"), ("UNITS", "metric")):
        if key in existing:
            http.patch(f"/v1/sandbox-config/environment-variable/{existing[key]}", json={"value": value})
        else:
            http.post(env_url, json={"key": key, "value": value})
    print("listed (masked):", [(v["key"], v["value"]) for v in http.get(env_url).json()])

    client = Letta(base_url=BASE_URL)
    result = client.tools.run_tool_from_source(source_code=SOURCE, args={"city": "Oslo"}, env_vars={"UNITS": "imperial"})
    print(result.status, result.tool_return)


if __name__ == "__main__":
    main()
