"""Server password, user API keys, revocation and the user_id header, against a real server."""

import pytest

PASSWORD = "s3cret-password"


@pytest.fixture
def secure_server(make_server):
    return make_server(TOOLHUB_SERVER_PASSWORD=PASSWORD)


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {PASSWORD}"}


def test_health_is_open_and_everything_else_needs_credentials(secure_server):
    with secure_server.client() as http:
        assert http.get("/v1/health/").status_code == 200
        missing = http.get("/v1/admin/users")
        assert missing.status_code == 401
        assert "Authorization" in missing.json()["detail"]
        assert http.get("/v1/admin/users", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/v1/admin/users", headers=admin_headers()).status_code == 200
        bare = {"X-BARE-PASSWORD": f"password {PASSWORD}"}
        assert http.get("/v1/admin/users", headers=bare).status_code == 200


def test_password_never_reaches_the_log(secure_server):
    with secure_server.client() as http:
        http.get("/v1/admin/users", headers=admin_headers())
        http.get("/v1/admin/users", headers={"Authorization": "Bearer wrong-guess-123"})
    log = secure_server.log()
    assert PASSWORD not in log and "wrong-guess-123" not in log


def test_user_api_key_acts_as_its_user_and_cannot_switch(secure_server):
    with secure_server.client(**admin_headers()) as admin:
        alice = admin.post("/v1/admin/users", json={"name": "alice"}).json()
        bob = admin.post("/v1/admin/users", json={"name": "bob"}).json()
        created = admin.post(f"/v1/admin/users/{alice['id']}/api-keys", json={"name": "laptop"}).json()
        key = created["key"]
        assert key.startswith(created["key_prefix"])
        listed = admin.get(f"/v1/admin/users/{alice['id']}/api-keys").json()
        assert [k["id"] for k in listed] == [created["id"]]
        assert "key" not in listed[0]

    with secure_server.client(Authorization=f"Bearer {key}") as as_alice:
        # A key is not the password: admin routes stay closed.
        assert as_alice.get("/v1/admin/users").status_code == 403
        forged = as_alice.get("/v1/admin/users", headers={"user_id": bob["id"]})
        assert forged.status_code == 403
    assert key not in secure_server.log()


def test_revoked_key_is_refused(secure_server):
    with secure_server.client(**admin_headers()) as admin:
        carol = admin.post("/v1/admin/users", json={"name": "carol"}).json()
        created = admin.post(f"/v1/admin/users/{carol['id']}/api-keys").json()
        revoked = admin.delete(f"/v1/admin/users/{carol['id']}/api-keys/{created['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert admin.delete(f"/v1/admin/users/{carol['id']}/api-keys/apikey-nope").status_code == 404
    with secure_server.client(Authorization=f"Bearer {created['key']}") as as_carol:
        assert as_carol.get("/v1/admin/users").status_code == 401


def test_letta_password_name_is_accepted(make_server):
    server = make_server(LETTA_SERVER_PASSWORD="letta-pw")
    with server.client() as http:
        assert http.get("/v1/admin/users").status_code == 401
        assert http.get("/v1/admin/users", headers={"Authorization": "Bearer letta-pw"}).status_code == 200


def test_auth_off_by_default(client):
    assert client.get("/v1/admin/users").status_code == 200


def test_deleted_user_can_no_longer_act(client):
    user = client.post("/v1/admin/users", json={"name": "leaver"}).json()
    assert client.get("/v1/tools/count", headers={"user_id": user["id"]}).status_code == 200
    assert client.delete("/v1/admin/users", params={"user_id": user["id"]}).status_code == 200
    assert client.get("/v1/tools/count", headers={"user_id": user["id"]}).status_code == 404
