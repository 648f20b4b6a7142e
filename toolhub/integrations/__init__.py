"""Tools that call outside services in-process (Letta's `letta_builtin` tools): `web_search`, `run_code`."""
