"""The HTTP skeleton against a real server: health, envelopes, paths, auth, durability."""

import subprocess
import sys
import threading
import time

import httpx
import pytest
from letta_client import Letta

from tests.support.server import clean_environment

DEFAULT_USER = "user-00000000-0000-4000-8000-000000000000"
DEFAULT_ORG = "org-00000000-0000-4000-8000-000000000000"


def test_letta_client_health_check(server):
    health = Letta(base_url=server.base_url).health.check()
    assert health.status == "ok"
    assert health.version


@pytest.mark.parametrize("path", ["/v1/health", "/v1/health/", "/latest/health", "/latest/health/"])
def test_health_answers_on_every_spelling(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_post_with_and_without_trailing_slash_is_not_redirected(client):
    for path in ("/v1/admin/users", "/v1/admin/users/", "/latest/admin/users/"):
        response = client.post(path, json={"name": f"slash-{path}"}, follow_redirects=False)
        assert response.status_code == 200, response.text
        assert response.json()["name"] == f"slash-{path}"


def test_default_org_and_user_are_seeded(client):
    users = client.get("/v1/admin/users").json()
    default = next(u for u in users if u["id"] == DEFAULT_USER)
    assert default["organization_id"] == DEFAULT_ORG
    assert any(o["id"] == DEFAULT_ORG for o in client.get("/v1/admin/orgs").json())


def test_error_envelopes(client):
    missing = client.delete("/v1/admin/users/user-00000000-0000-4000-8000-0000000000ff")
    assert missing.status_code == 404
    assert "not found" in missing.json()["detail"]

    invalid = client.post("/v1/admin/users", json={"nme": "x"})
    assert invalid.status_code == 422
    assert isinstance(invalid.json()["detail"], list)

    refused = client.delete(f"/v1/admin/users/{DEFAULT_USER}")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "The default user cannot be deleted", "code": "invalid_input"}

    unknown_route = client.get("/v1/no-such-thing")
    assert unknown_route.status_code == 404
    assert "detail" in unknown_route.json()

    assert client.post("/v1/admin/users", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422


def test_unknown_organization_is_404(client):
    response = client.post("/v1/admin/users", json={"name": "x", "organization_id": "org-unknown"})
    assert response.status_code == 404
    assert response.json()["detail"] == "Organization with id org-unknown not found"


def test_openapi_is_served(client):
    spec = client.get("/openapi.json").json()
    assert "/v1/health" in spec["paths"]


def test_request_id_is_returned_and_logged(server, client):
    response = client.get("/v1/admin/users")
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 16
    deadline = time.monotonic() + 10  # the line is written just after the response is sent
    while not (lines := [line for line in server.log().splitlines() if request_id in line]):
        assert time.monotonic() < deadline, "request line never logged"
        time.sleep(0.05)
    line = lines[0]
    assert "method=GET route=/v1/admin/users status=200 duration_ms=" in line


def test_restart_keeps_data(make_server, tmp_path):
    first = make_server(home=tmp_path / "restart")
    with first.client() as http:
        user = http.post("/v1/admin/users", json={"name": "survivor"}).json()
    first.stop()
    second = make_server(home=tmp_path / "restart", database_url=first.env["TOOLHUB_DATABASE_URL"])
    with second.client() as http:
        assert user["id"] in {u["id"] for u in http.get("/v1/admin/users", params={"limit": 1000}).json()}


def test_kill_9_during_writes_loses_nothing_committed(make_server, tmp_path):
    home = tmp_path / "crash"
    first = make_server(home=home)
    committed: list[str] = []
    stop = threading.Event()

    def writer(worker: int) -> None:
        with first.client() as http:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    response = http.post("/v1/admin/users", json={"name": f"w{worker}-{n}"}, timeout=5)
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    committed.append(response.json()["id"])

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    while len(committed) < 40:
        threading.Event().wait(0.01)
    first.kill()
    stop.set()
    for thread in threads:
        thread.join()

    second = make_server(home=home, database_url=first.env["TOOLHUB_DATABASE_URL"])
    with second.client() as http:
        stored = {u["id"] for u in http.get("/v1/admin/users", params={"limit": 10000}).json()}
    assert set(committed) <= stored


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolhub.cli", *args],
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unknown_setting_stops_start_up_and_names_it(tmp_path):
    result = _cli("server", "--port", "1", TOOLHUB_HOME=str(tmp_path), TOOLHUB_DATABSE_URL="sqlite://")
    assert result.returncode != 0
    assert "TOOLHUB_DATABSE_URL" in result.stderr


def test_malformed_setting_stops_start_up_and_names_it(tmp_path):
    result = _cli("db", "upgrade", TOOLHUB_HOME=str(tmp_path), TOOLHUB_DATABASE_URL="mysql://nope")
    assert result.returncode != 0
    assert "TOOLHUB_DATABASE_URL" in result.stderr


def test_cli_version_db_upgrade_and_help(tmp_path):
    assert _cli("version").stdout.strip()
    upgraded = _cli("db", "upgrade", TOOLHUB_HOME=str(tmp_path))
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "toolhub.db").exists()
    help_text = _cli("server", "--help").stdout
    assert "--port" in help_text and "8283" in help_text
