"""The Docker sandbox: warm, hardened containers running the same runner."""
