"""Python tool source → the JSON schema the model sees: static AST path, confined child, strict variant."""
