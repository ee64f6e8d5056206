"""The HTTP API (Litestar): controllers translate requests into calls of the domain."""
