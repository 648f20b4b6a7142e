# str / int / float / bool map to string / integer / number / boolean; signature order is kept.
def set_thermostat(room: str, level: int, target: float, eco: bool) -> str:
    """Set a room's thermostat.

    Args:
        room: Name of the room.
        level: Floor the room is on.
        target: Target temperature in Celsius.
        eco: Whether to use the energy-saving mode.
    """
    return room
