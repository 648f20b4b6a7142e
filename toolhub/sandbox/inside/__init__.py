"""Code that runs inside a sandbox (standard library only, loaded by file path): never imported by tools."""
