"""One router per resource. Each router carries the full `/v1/...` prefix so logs name whole routes."""

API_PREFIX = "/v1"
