"""The agent core: the step loop, its context and the LLM adapters it calls."""
