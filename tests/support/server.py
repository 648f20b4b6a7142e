"""Start real `toolhub server` processes for tests, on free ports, with their own home and database."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx

POSTGRES_ENV = "TOOLHUB_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        raise RuntimeError(
            f"{POSTGRES_ENV} is not set: run the suite with scripts/test, which installs and starts PostgreSQL"
        )
    return url


def fresh_database_url(backend: str, home: Path) -> str:
    """A new, empty database for one server: a SQLite file in `home`, or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{home / 'toolhub.db'}"
    admin = postgres_admin_url()
    name = f"toolhub_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        import asyncpg

        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base, _, _ = admin.rpartition("/")
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name


PROVIDER_PREFIXES = (
    "OPENAI_", "ANTHROPIC_", "OLLAMA_", "VLLM_", "GROQ_", "TOGETHER_", "OPENROUTER_", "DEEPSEEK_", "XAI_",
    "LMSTUDIO_", "GEMINI_", "E2B_", "COMPOSIO_", "TAVILY_",
)
"""Variables of outside services a developer's shell may hold; tests pass the ones they mean explicitly."""


def clean_environment(**overrides: str) -> dict[str, str]:
    """The host environment without toolhub/Letta settings or provider keys, plus `overrides`."""
    dropped = ("TOOLHUB_", "LETTA_", *PROVIDER_PREFIXES)
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(overrides)
    return env


class ServerProcess:
    """One `toolhub server` subprocess. `start()` waits until health answers."""

    def __init__(self, home: Path, database_url: str, *, server_args: Sequence[str] = (), **settings: str) -> None:
        self.home = home
        self.server_args = list(server_args)
        """Extra `toolhub server` options (for A/B runs of its settings)."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = clean_environment(TOOLHUB_HOME=str(home), TOOLHUB_DATABASE_URL=database_url, **settings)
        self.log_path = home / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "toolhub.cli", "server", "--port", str(self.port), *self.server_args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/v1/health/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not become ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the server: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)
