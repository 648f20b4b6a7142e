# agent_state is injected by the executor and never shown to the model.
def remember(agent_state: "AgentState", fact: str) -> str:
    """Store a fact in the agent's memory.

    Args:
        fact: The fact to remember.
    """
    return fact
