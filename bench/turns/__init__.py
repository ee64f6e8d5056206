"""Chat turns end to end: what the pipeline adds to what the model gives.

    .venv/bin/python -m bench.turns [--quick] [--database-url ADMIN_URL] [--show-statements]

Everything runs as real processes on loopback, started here with their own environment:
a scratch database (created, migrated by `robots migrate`, dropped at the end), a Redis
prefix of its own, the fake model server (`python -m app.adapters.llm.local_model`, or
`bench.turns.stamped_model`, the same app stamping each delta with its send time), `robots
serve` (1 process), `robots worker` (1, or 2 for the load), `robots project`, and the load
clients. Each pipeline figure sits beside its baseline from the same run: the same fake
model read straight (through the worker's own provider adapter in 1 and 2, as a worker
reads it; with the same lean SSE client as the pipeline's in 3).

1. Added time to first token: POST /robots/chat/sse -> first `text-delta`, minus request
   -> first delta straight from the model; sequential, a new session each, interleaved.
2. One stream offered at 5,000 deltas/s (4,000 tokens: a worker asks for at most 4,096):
   deltas/s read at the SSE client / deltas/s read from the model directly.
3. Many concurrent streams (1 web, 2 workers), 20 deltas/s each: all complete, per-delta
   latency (model send time -> SSE client read time, one monotonic clock), web RSS.
   Then (3b) the same load at 100, 200, 300... streams, each beside its own direct run,
   until a size misses: how many streams this machine holds within 3's targets.
4. PostgreSQL statements per turn for a 50- and a 2,000-token reply (the server's
   statement log for the scratch database).

The machine is 2 cores shared by everything above (and by whatever else runs on it): the
report says how much CPU went where, and warns when others took a large share.

The stack comes from bench.harness.stack; the parts are in `parts` (measured by `measure`
and `statements`, with the lean SSE client `sse` and the load client processes
`load_client`), the table in `report`.

A measurement, not a test: it exits 0 whether targets are met or not.
"""
