"""`/v1/sandbox-config` over raw HTTP (letta-client has no sandbox-config resource), against a real server."""

import pytest


@pytest.fixture
def http(make_server):
    with make_server().client() as client:
        yield client


def test_local_default_is_get_or_create(http):
    first = http.post("/v1/sandbox-config/local/default").json()
    assert first["id"].startswith("sandbox-") and first["type"] == "local"
    assert first["config"]["timeout"] == 60 and first["config"]["allow_network"] is False
    assert http.post("/v1/sandbox-config/local/default/").json()["id"] == first["id"]


def test_create_is_create_or_update_per_type(http):
    local = http.post("/v1/sandbox-config", json={"config": {"sandbox_dir": "/tmp/tools", "use_venv": True}}).json()
    assert local["type"] == "local" and local["config"]["sandbox_dir"] == "/tmp/tools"
    again = http.post("/v1/sandbox-config/", json={"config": {"sandbox_dir": "/tmp/other"}}).json()
    assert again["id"] == local["id"] and again["config"]["sandbox_dir"] == "/tmp/other"

    e2b = http.post("/v1/sandbox-config", json={"config": {"template": "tpl", "timeout": 120}}).json()
    assert e2b["type"] == "e2b" and e2b["config"]["template"] == "tpl"
    docker = http.post("/v1/sandbox-config", json={"config": {"type": "docker", "memory_mb": 128}}).json()
    assert docker["type"] == "docker" and docker["config"]["memory_mb"] == 128

    listed = http.get("/v1/sandbox-config").json()
    assert {c["type"] for c in listed} == {"local", "e2b", "docker"}
    assert [c["type"] for c in http.get("/v1/sandbox-config", params={"sandbox_type": "e2b"}).json()] == ["e2b"]


def test_invalid_config_is_400_and_changes_nothing(http):
    before = http.get("/v1/sandbox-config").json()
    response = http.post("/v1/sandbox-config", json={"config": {"timeout": -5}})
    assert response.status_code == 400 and "timeout" in response.json()["detail"]
    assert http.post("/v1/sandbox-config", json={"config": {"type": "lambda"}}).status_code == 400
    assert http.get("/v1/sandbox-config").json() == before


def test_patch_and_delete(http):
    config = http.post("/v1/sandbox-config/local/default").json()
    patched = http.patch(f"/v1/sandbox-config/{config['id']}", json={"config": {"timeout": 5}}).json()
    assert patched["config"]["timeout"] == 5 and patched["type"] == "local"
    assert http.delete(f"/v1/sandbox-config/{config['id']}").status_code == 204
    assert http.delete(f"/v1/sandbox-config/{config['id']}").status_code == 404
    assert http.patch("/v1/sandbox-config/sandbox-missing", json={"config": {}}).status_code == 404


def test_environment_variables_crud_and_masking(http):
    config = http.post("/v1/sandbox-config/local/default").json()
    base = f"/v1/sandbox-config/{config['id']}/environment-variable"
    created = http.post(base, json={"key": "API_TOKEN", "value": "tok-123", "description": "d"}).json()
    assert created["id"].startswith("sandbox-env-") and created["sandbox_config_id"] == config["id"]
    assert http.post(base, json={"key": "API_TOKEN", "value": "again"}).status_code == 409

    masked = http.get(base).json()
    assert [v["key"] for v in masked] == ["API_TOKEN"] and masked[0]["value"] != "tok-123"
    assert http.get(base, params={"reveal": "true"}).json()[0]["value"] == "tok-123"

    updated = http.patch(f"/v1/sandbox-config/environment-variable/{created['id']}", json={"value": "tok-456"})
    assert updated.status_code == 200 and updated.json()["value"] == "tok-456"
    assert http.delete(f"/v1/sandbox-config/environment-variable/{created['id']}").status_code == 204
    assert http.get(base).json() == []
    assert http.get("/v1/sandbox-config/sandbox-missing/environment-variable").status_code == 404
    assert http.post("/v1/sandbox-config/sandbox-missing/environment-variable", json={"key": "K", "value": "v"}).status_code == 404


def test_recreate_venv_and_requirements_from_the_config(http):
    """The seed's requirements example: packages named in the local config are importable by tools."""
    http.post("/v1/sandbox-config/local", json={"pip_requirements": [{"name": "cowsay"}]})
    recreated = http.post("/v1/sandbox-config/local/recreate-venv", timeout=600)
    assert recreated.status_code == 200 and recreated.json()["config"]["pip_requirements"] == [
        {"name": "cowsay", "version": None}
    ]
    source = 'def moo() -> str:\n    """Say moo."""\n    import cowsay\n    return cowsay.get_output_string("cow", "moo")\n'
    result = http.post("/v1/tools/run", json={"source_code": source, "args": {}}, timeout=600).json()
    assert result["status"] == "success" and "moo" in result["tool_return"]

    http.post("/v1/sandbox-config/local", json={"pip_requirements": [{"name": "no-such-package-toolhub-xyz"}]})
    failed = http.post("/v1/sandbox-config/local/recreate-venv", timeout=600)
    assert failed.status_code == 400 and "no-such-package-toolhub-xyz" in failed.json()["detail"]


def test_tool_pip_requirements_cowsay(http):
    source = 'def moo() -> str:\n    """Say moo."""\n    import cowsay\n    return cowsay.get_output_string("cow", "hi")\n'
    body = {"source_code": source, "args": {}, "pip_requirements": [{"name": "cowsay"}]}
    result = http.post("/v1/tools/run", json=body, timeout=600).json()
    assert result["status"] == "success" and "hi" in result["tool_return"]
