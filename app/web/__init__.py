"""The web playground: a page, its scripts and its style, served as they are by
app/api/playground.py. `static/` ships in the package; `build/` is the source of the one
built file, `static/vendor/ai-chat.js` (the AI SDK's Chat, bundled by `make web`)."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
