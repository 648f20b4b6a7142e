"""Wire models of the agent-side API (agents, blocks), with Letta's exact field names for both SDK generations."""
