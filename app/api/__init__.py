"""The HTTP API (Litestar): controllers translate requests into calls of app/services and
the results into responses; what they need arrives by name (app/api/deps.py)."""
