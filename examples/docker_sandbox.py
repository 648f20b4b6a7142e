"""Run a tool in a hardened Docker container: no network, read-only root, dropped capabilities, limits.

The Docker sandbox needs a Docker engine (the socket or DOCKER_HOST). The image is built on first use (or ahead
with `toolhub sandbox build-image`). A tool moves to Docker through its `metadata_.sandbox`; the server default
is TOOLHUB_SANDBOX (an agent's `metadata.tool_sandbox` sits in between).

Run a server first (scripts/serve), then: .venv/bin/python examples/docker_sandbox.py
"""

import os

import httpx

BASE_URL = os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283")

SOURCE = '''
def inspect_sandbox() -> dict:
    """Report what the tool can see and do inside its sandbox."""
    import os, socket
    try:
        socket.create_connection(("127.0.0.1", 8283), timeout=1)
        network = "reachable"
    except OSError as exc:
        network = f"blocked ({type(exc).__name__})"
    try:
        open("/etc/pwned", "w")
        root = "writable"
    except OSError:
        root = "read-only"
    return {"uid": os.getuid(), "network": network, "root_filesystem": root, "secret": os.environ.get("API_TOKEN")}
'''


def main() -> None:
    http = httpx.Client(base_url=BASE_URL, timeout=600)  # the first call may build the image
    config = http.post("/v1/sandbox-config/docker", json={"memory_mb": 256, "pids_limit": 64, "timeout": 30}).json()
    print("docker sandbox config:", config["config"])
    env_url = f"/v1/sandbox-config/{config['id']}/environment-variable"
    if not any(v["key"] == "API_TOKEN" for v in http.get(env_url).json()):
        http.post(env_url, json={"key": "API_TOKEN", "value": "tok-docker"})

    existing = http.get("/v1/tools/", params={"name": "inspect_sandbox"}).json()
    tool = existing[0] if existing else http.post("/v1/tools/", json={"source_code": SOURCE}).json()
    http.patch(f"/v1/tools/{tool['id']}", json={"metadata_": {"sandbox": "docker"}})
    result = http.post(f"/v1/tools/{tool['id']}/run", json={}).json()
    print(result["status"], result["tool_return"])


if __name__ == "__main__":
    main()
