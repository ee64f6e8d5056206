"""Long sessions: what a turn costs as its session grows, beside a fresh session's.

    .venv/bin/python -m bench.sessions [--quick] [--database-url ADMIN_URL] [--lengths 1,100,1000]

Everything runs as real processes on loopback, as in bench.turns (bench.harness.stack): a
scratch database migrated by `robots migrate`, the local model server
(`python -m app.adapters.llm.local_model`, 20 tokens a reply, unpaced), `robots serve`,
`robots worker` and `robots project`, one each.

One session is grown through the API (POST /robots/chat/sse, one exchange after another,
each read to its `[DONE]`) to each length in turn: 1, 100 and 1,000 exchanges. At each
length, turns are sampled in that session and in fresh sessions, interleaved, each beside
the model read directly with the same history (the worker's own provider adapter, the
OpenAI SDK, sending the system prompt and every earlier question and answer, as the worker
does): added time to first token (POST -> first `text-delta`, minus request -> first
delta) and added whole-turn time (POST -> `[DONE]`, minus request -> the model's last
delta). Each sample in the long session is one more exchange of it.

Target: at 1,000 exchanges, the added time to first token within 1.2 x a fresh session's
+ 2 ms, and the added whole-turn time likewise.

Beside the figures: where a long turn's time goes, from the log (posted -> claimed by the
worker, the worker's own time to first token, claimed -> completed) and the CPU each
process spent per turn.

A measurement, not a test: it exits 0 whether targets are met or not.
"""
