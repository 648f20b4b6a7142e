"""The MCP bridge: long-lived client sessions to MCP servers, their tools as toolhub tools, and calls to them.

Nothing here imports the MCP SDK at import time (it costs about a second); it is loaded on first connect.
"""

from toolhub.mcp_bridge.config import (
    MCPServerConfig,
    SSEServerConfig,
    StdioServerConfig,
    StreamableHTTPServerConfig,
    masked_config,
    parse_server_config,
)
from toolhub.mcp_bridge.config_file import ParsedConfigFile, load_mcp_config, parse_mcp_config
from toolhub.mcp_bridge.live_session import ServerState, ServerStatus
from toolhub.mcp_bridge.convert import MCPToolFields, fingerprint, provider_parameters, qualified_name, tool_fields
from toolhub.mcp_bridge.errors import (
    MCPBridgeError,
    MCPConfigError,
    MCPPolicyError,
    MCPSchemaError,
    MCPServerConnectionError,
    MCPServerNameAlreadyExistsError,
    MCPServerNotFoundError,
    MCPServerUnavailableError,
    MCPTimeoutError,
)
from toolhub.mcp_bridge.manager import MCPManager
from toolhub.mcp_bridge.options import Backoff, BridgeOptions, MCPTimeouts
from toolhub.mcp_bridge.results import MCPCallResult
from toolhub.mcp_bridge.watch import ConfigWatcher

__all__ = [
    "Backoff",
    "BridgeOptions",
    "ConfigWatcher",
    "MCPBridgeError",
    "MCPCallResult",
    "MCPConfigError",
    "MCPManager",
    "MCPPolicyError",
    "MCPSchemaError",
    "MCPServerConfig",
    "MCPServerConnectionError",
    "MCPServerNameAlreadyExistsError",
    "MCPServerNotFoundError",
    "MCPServerUnavailableError",
    "MCPTimeoutError",
    "MCPTimeouts",
    "MCPToolFields",
    "ParsedConfigFile",
    "SSEServerConfig",
    "ServerState",
    "ServerStatus",
    "StdioServerConfig",
    "StreamableHTTPServerConfig",
    "fingerprint",
    "load_mcp_config",
    "masked_config",
    "parse_mcp_config",
    "parse_server_config",
    "provider_parameters",
    "qualified_name",
    "tool_fields",
]
