"""The local sandbox: warm workers under bubblewrap, in user namespaces, on this machine."""
