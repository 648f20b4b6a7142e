"""Which sandbox runs a tool: the server default, overridden per tool by `metadata_.sandbox` (real Docker)."""

import httpx

IN_CONTAINER = '''def where() -> str:
    """Tell where this runs: the local sandbox's virtualenvs live under TOOLHUB_HOME, the container's do not."""
    import sys
    return sys.prefix
'''


def ran_on(server, result: dict) -> str:
    assert result["status"] == "success", result
    return "host" if result["tool_return"].startswith(str(server.home)) else "docker"


def test_tool_metadata_picks_docker_and_server_default_stays(make_server):
    server = make_server()
    with httpx.Client(base_url=server.base_url, timeout=600) as http:  # the first Docker call may build the image
        tool = http.post("/v1/tools/", json={"source_code": IN_CONTAINER}).json()
        assert ran_on(server, http.post(f"/v1/tools/{tool['id']}/run", json={}).json()) == "host"

        moved = http.patch(f"/v1/tools/{tool['id']}", json={"metadata_": {"sandbox": "docker"}}).json()
        assert moved["metadata_"] == {"sandbox": "docker"}
        assert ran_on(server, http.post(f"/v1/tools/{tool['id']}/run", json={}).json()) == "docker"
        # Choosing Docker for one tool does not move others, nor run-from-source.
        source_run = http.post("/v1/tools/run", json={"source_code": IN_CONTAINER, "args": {}}).json()
        assert ran_on(server, source_run) == "host"

        # An unknown sandbox is refused when set (not at every later run), and the tool keeps its choice.
        bad = http.patch(f"/v1/tools/{tool['id']}", json={"metadata_": {"sandbox": "lambda"}})
        assert bad.status_code == 422 and "sandbox" in bad.text
        assert http.get(f"/v1/tools/{tool['id']}").json()["metadata_"] == {"sandbox": "docker"}


def test_server_default_docker(make_server):
    server = make_server(TOOLHUB_SANDBOX="docker")
    with httpx.Client(base_url=server.base_url, timeout=600) as http:
        result = http.post("/v1/tools/run", json={"source_code": IN_CONTAINER, "args": {}}).json()
        assert ran_on(server, result) == "docker"
