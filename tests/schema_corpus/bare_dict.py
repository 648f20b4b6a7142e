# A bare dict is an object without properties: fine for the model, impossible in strict mode.
def save_settings(settings: dict) -> str:
    """Save user settings.

    Args:
        settings: Settings to save, as key/value pairs.
    """
    return "ok"
