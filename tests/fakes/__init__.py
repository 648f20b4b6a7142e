"""Protocol-level fakes of the outside services toolhub talks to, each a real HTTP server on loopback."""
