"""A hostile tenant with an ordinary API key against the local sandbox, through the HTTP API only.

Each test replays an attack that once worked: a package whose `.pth` file ran as root on the host while it was
installed and again in the warm worker (with the Docker socket answering), System V shared memory read across
organizations, and tools that killed the shared worker or read other processes' memory.
"""

import json
import os
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from tests.security.wheels import build_wheel

PASSWORD = "hardening-password"
SERVER_SECRET = "sk-server-secret-value"

PAYLOAD = '''
import json, os, socket

def _attempt(action):
    try:
        return ["ok", repr(action())[:200]]
    except BaseException as exc:
        return ["refused", type(exc).__name__]

def _connect(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(1)
    sock.connect(path)
    sock.close()
    return "connected"

def _write_host_marker():
    with open({marker!r}, "w") as handle:
        handle.write("ran on the host")

report = {{
    "uid_map": open("/proc/self/uid_map").read().split(),
    "env": sorted(os.environ),
    "secret_in_env": any({secret!r} in value for value in os.environ.values()),
    "docker": [_attempt(lambda: _connect(path)) for path in ("/var/run/docker.sock", "/run/docker.sock")],
    "database": os.path.exists({database!r}),
    "shadow": _attempt(lambda: open("/etc/shadow").read()),
    "marker": _attempt(_write_host_marker),
}}
try:
    with open("/tmp/evilpth-report.json", "w") as handle:
        json.dump(report, handle)
    os.chmod("/tmp/evilpth-report.json", 0o644)
except OSError:
    pass
'''

READ_REPORT = '''
def read_report() -> dict:
    """Returns what the package's .pth file saw when the worker started.

    Returns:
        dict: the report, or {"missing": True}
    """
    import json, os
    if not os.path.exists("/tmp/evilpth-report.json"):
        return {"missing": True}
    return json.load(open("/tmp/evilpth-report.json"))
'''


def _user_key(admin, name: str, organization_id: str | None = None) -> str:
    body = {"name": name, **({"organization_id": organization_id} if organization_id else {})}
    user = admin.post("/v1/admin/users", json=body).json()
    return admin.post(f"/v1/admin/users/{user['id']}/api-keys").json()["key"]


def _run(http, source: str, args: dict | None = None) -> dict:
    response = http.post("/v1/tools/run", json={"source_code": textwrap.dedent(source), "args": args or {}})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def hostile_server(make_server, tmp_path: Path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    marker = tmp_path / "pth-ran-on-host"
    home = tmp_path / "home"
    payload = PAYLOAD.format(marker=str(marker), secret=SERVER_SECRET, database=str(home / "toolhub.db"))
    name = f"evilpth{uuid.uuid4().hex[:8]}"
    build_wheel(wheels, name, "1.0", {f"{name}.pth": f"import {name}_payload\n", f"{name}_payload.py": payload})
    server = make_server(
        home=home, TOOLHUB_SERVER_PASSWORD=PASSWORD, UV_FIND_LINKS=str(wheels), OPENAI_API_KEY=SERVER_SECRET
    )
    return server, name, marker


def test_a_package_pth_file_never_runs_on_the_host_or_as_host_root(hostile_server) -> None:
    server, package, marker = hostile_server
    with server.client(Authorization=f"Bearer {PASSWORD}") as admin:
        key = _user_key(admin, "mallory")
    with server.client(Authorization=f"Bearer {key}") as mallory:
        configured = mallory.post("/v1/sandbox-config", json={"config": {"pip_requirements": [{"name": package}]}})
        assert configured.status_code == 200, configured.text
        result = _run(mallory, READ_REPORT)
    assert result["status"] == "success", result
    report = json.loads(result["tool_return"])
    assert "missing" not in report, "the package was installed and its .pth ran in the worker"
    inside, host, _count = (int(part) for part in report["uid_map"])
    assert inside == 0 and host != 0, "the worker's root is an unprivileged host uid"
    assert not report["secret_in_env"] and SERVER_SECRET not in json.dumps(result)
    assert all(outcome == "refused" for outcome, _ in report["docker"]), report["docker"]
    assert report["database"] is False
    assert report["shadow"][0] == "refused"
    assert not marker.exists(), "package code wrote on the host (while the virtualenv was built, or since)"


SHM_PLANT = '''
def plant(key: int, seconds: float) -> int:
    """Leaves a readable System V shared memory segment behind, and waits.

    Args:
        key (int): the segment's key
        seconds (float): how long to wait

    Returns:
        int: the segment id
    """
    import ctypes, time
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    segment = libc.shmget(key, 1 << 20, 0o1644)
    address = libc.shmat(segment, None, 0)
    ctypes.memmove(address, b"alice-secret", 12)
    time.sleep(seconds)
    return segment
'''

SHM_LOOK = '''
def look() -> list:
    """Lists the System V shared memory segments this call can see.

    Returns:
        list: one line per segment
    """
    return open("/proc/sysvipc/shm").read().splitlines()[1:]
'''


def test_shared_memory_never_crosses_tenants_or_outlives_its_call(make_server) -> None:
    server = make_server(TOOLHUB_SERVER_PASSWORD=PASSWORD)
    with server.client(Authorization=f"Bearer {PASSWORD}") as admin:
        other_org = admin.post("/v1/admin/orgs", json={"name": "bob-corp"}).json()["id"]
        alice_key, bob_key = _user_key(admin, "alice"), _user_key(admin, "bob", other_org)
    planted: dict = {}
    with server.client(Authorization=f"Bearer {alice_key}") as alice, server.client(
        Authorization=f"Bearer {bob_key}"
    ) as bob:
        planting = threading.Thread(target=lambda: planted.update(_run(alice, SHM_PLANT, {"key": 7001, "seconds": 4})))
        planting.start()
        seen_by_alice = []
        for _ in range(200):  # until the segment exists (Alice's call is running)
            seen_by_alice = json.loads(_run(alice, SHM_LOOK)["tool_return"])
            if seen_by_alice:
                break
        seen_by_bob = json.loads(_run(bob, SHM_LOOK)["tool_return"])
        planting.join()
        after = json.loads(_run(alice, SHM_LOOK)["tool_return"])
    assert planted["status"] == "success", planted["tool_return"]
    assert seen_by_alice, "the planted segment is visible within its own tenant while the call runs"
    assert seen_by_bob == [], "another organization's calls run in another IPC namespace"
    assert after == [], "a call's segments are removed when it ends"


HOSTILE = '''
def attack() -> dict:
    """Tries to reach other processes of the worker.

    Returns:
        dict: what worked
    """
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    me = os.getpid()
    outcome = {"mem": [], "ptrace": [], "environ": []}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        for kind, path in (("mem", f"/proc/{pid}/mem"), ("environ", f"/proc/{pid}/environ")):
            try:
                open(path, "rb").read(16)
                outcome[kind].append(pid)
            except OSError:
                pass
        if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
            outcome["ptrace"].append(pid)
    outcome["new_user_namespace"] = libc.unshare(0x10000000) == 0  # CLONE_NEWUSER
    outcome["mount_namespace"] = libc.unshare(0x00020000) == 0  # CLONE_NEWNS
    try:
        os.kill(-1, 9)
    except OSError:
        pass
    return outcome
'''

SQUARE = '''
def square(n: int) -> int:
    """Squares a number.

    Args:
        n (int): the number

    Returns:
        int: its square
    """
    return n * n
'''


def test_a_tool_cannot_reach_other_processes_or_kill_the_worker(make_server) -> None:
    server = make_server(TOOLHUB_SERVER_PASSWORD=PASSWORD)
    with server.client(Authorization=f"Bearer {PASSWORD}") as admin:
        key = _user_key(admin, "eve")
    with server.client(Authorization=f"Bearer {key}") as eve:
        before = _run(eve, SQUARE, {"n": 3})
        attack = _run(eve, HOSTILE)
        after = [_run(eve, SQUARE, {"n": n}) for n in range(4)]
    assert before["tool_return"] == "9"
    assert attack["status"] == "success", attack
    assert json.loads(attack["tool_return"]) == {
        "mem": [], "ptrace": [], "environ": [], "new_user_namespace": False, "mount_namespace": False
    }
    assert [result["tool_return"] for result in after] == ["0", "1", "4", "9"], "the worker survived kill(-1)"


def test_a_non_root_server_refuses_local_tools_and_says_why(tmp_path: Path) -> None:
    """Without root, calls cannot get uids of their own: the local sandbox refuses instead of running them
    unisolated. Checked in a child process that gives up root first, as a server started by a user would be."""
    import asyncio

    from toolhub.sandbox.base import SandboxError, ToolInvocation
    from toolhub.sandbox.local.sandbox import LocalSandbox

    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)

            async def attempt() -> list:
                local = LocalSandbox(tmp_path / "venvs")
                try:
                    result = await local.run(ToolInvocation(name="square", source_code=SQUARE, args={"n": 2}))
                    try:
                        await local.start()
                    except SandboxError as exc:
                        return [str(exc), result.error]
                    return ["started", result.error]
                finally:
                    await local.close()

            os.write(writer, json.dumps(asyncio.run(attempt())).encode())
        finally:
            os._exit(0)
    os.close(writer)
    answer = b""
    while chunk := os.read(reader, 65536):
        answer += chunk
    os.waitpid(child, 0)
    check, error = json.loads(answer)
    assert "needs the server to run as root" in check
    assert error.startswith("Error executing function square: SandboxError: the local sandbox needs the server")
