"""Robots backend: HTTP API, domain and event store."""
