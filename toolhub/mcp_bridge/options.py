"""The bridge's knobs, as value objects passed to `MCPManager` (the bridge reads no environment variables)."""

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class MCPTimeouts:
    """Seconds allowed per operation; Letta's `MCP_*_TIMEOUT` defaults, which Letta itself never enforced."""

    connect: float = 30.0
    """Spawn or dial, plus the initialize handshake."""
    list_tools: float = 30.0
    call: float = 60.0


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Exponential back-off between reconnect attempts, with ±20 % jitter so servers do not retry in step."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    stable_after: float = 10.0
    """A session that stayed up this long resets the failure count, so a crash loop keeps backing off."""

    def delay(self, failures: int) -> float:
        """Seconds to wait after the given number of consecutive failures (1 or more)."""
        base = min(self.maximum, self.initial * self.multiplier ** (failures - 1))
        return base * random.uniform(0.8, 1.2)


@dataclass(frozen=True, kw_only=True)
class BridgeOptions:
    timeouts: MCPTimeouts = field(default_factory=MCPTimeouts)
    backoff: Backoff = field(default_factory=Backoff)
    allow_stdio: bool = True
    """False refuses stdio servers (the hub then never spawns processes from configs)."""
    health_interval: float = 30.0
    """An idle session is pinged this often, so a dead remote server shows as unhealthy before a call finds out."""
    max_result_chars: int = 1_000_000
    """Result text beyond this is cut, with a note saying how much was dropped."""
    max_message_bytes: int = 64 * 1024 * 1024
    """A stdio server line longer than this ends the session instead of growing memory without bound."""
