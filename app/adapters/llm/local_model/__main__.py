"""Serve the local model as its own process: `python -m app.adapters.llm.local_model --port 8099`.

Point an SDK at it: OpenAI `base_url=http://127.0.0.1:8099/v1`, Anthropic
`base_url=http://127.0.0.1:8099`, any API key.
"""

from __future__ import annotations

import argparse

import uvicorn

from app.adapters.llm.local_model.app import LocalModelApp
from app.adapters.llm.local_model.book import ScriptBook
from app.adapters.llm.local_model.script import DEFAULT_TOKENS, Script


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.adapters.llm.local_model",
                                     description="Scripted local model server (OpenAI + "
                                     "Anthropic APIs) for offline runs and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--tokens", type=int, default=DEFAULT_TOKENS,
                        help="words in the default reply")
    parser.add_argument("--tokens-per-second", type=float, default=0.0,
                        help="pace of token deltas; 0 streams as fast as possible")
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds before the first token")
    args = parser.parse_args(argv)
    default = Script(tokens=args.tokens, tokens_per_second=args.tokens_per_second,
                     time_to_first_token_s=args.ttft)
    app = LocalModelApp(ScriptBook(default))
    uvicorn.run(app, host=args.host, port=args.port, lifespan="off", ws="none",
                access_log=False, log_level="warning", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
