"""A turn's live stream: parts published to Redis by the worker, relayed as SSE by the API."""
