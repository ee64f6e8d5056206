"""Prometheus metrics of the chat path. Web processes serve them at /metrics; a worker
serves its own on WORKER_METRICS_PORT when that is set (each process counts its own)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TURNS_POSTED = Counter("robots_turns_posted_total", "Turns requested through the API")
STREAMS_OPEN = Gauge("robots_streams_open", "SSE streams this process is relaying now")
TURNS_FINISHED = Counter("robots_turns_finished_total", "Turns a worker ended, by outcome",
                         ["outcome"])
TIME_TO_FIRST_TOKEN = Histogram(
    "robots_turn_time_to_first_token_seconds", "From the model call to its first token",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16))
TOKENS = Counter("robots_model_tokens_total",
                 "Tokens the models read (input) and wrote (output), by provider and model",
                 ["provider", "model", "direction"])
TURN_DURATION = Histogram(
    "robots_turn_duration_seconds", "An attempt at a turn, from its model call to its end",
    buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128))
SWEPT = Counter("robots_sweeper_actions_total", "Stuck turns the sweeper acted on, by action",
                ["action"])


def count_tokens(provider: str, model: str, input_tokens: int, output_tokens: int) -> None:
    """One model call's usage."""
    TOKENS.labels(provider, model, "input").inc(input_tokens)
    TOKENS.labels(provider, model, "output").inc(output_tokens)
