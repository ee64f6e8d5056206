"""Reading an OpenAI stream body ourselves: SSE framing and chunk decoding."""

from __future__ import annotations

import msgspec
import openai
import pytest

from app.adapters.llm.base import ProviderConfig
from app.adapters.llm.events import ReasoningDelta, TextDelta, ToolInputDelta, ToolInputStarted
from app.adapters.llm.openai_adapter import OpenAIAdapter
from app.adapters.llm.openai_chunks import ChunkDecoder, decode_chunk
from app.adapters.llm.sse_events import SSEParser

STREAM = (b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
          b': a comment\r\n'
          b'event: message\r\ndata: {"choices":[{"delta":{"content":"lo"}}]}\r\n\r\n'
          b'data: {"a":\ndata: 1}\n\n'
          b'data: [DONE]\n\n')


def test_events_come_out_whole_however_the_bytes_are_cut() -> None:
    expected = [(None, b'{"choices":[{"delta":{"content":"Hel"}}]}'),
                ("message", b'{"choices":[{"delta":{"content":"lo"}}]}'),
                (None, b'{"a":\n1}'),  # two data lines are one event's data
                (None, b"[DONE]")]
    for size in (1, 2, 7, len(STREAM)):
        parser = SSEParser()
        got = [e for i in range(0, len(STREAM), size) for e in parser.feed(STREAM[i:i + size])]
        assert got == expected, size


def test_chunks_become_text_reasoning_and_tool_events() -> None:
    decoder = ChunkDecoder("p")
    events = [e for data in (
        b'{"choices":[{"delta":{"role":"assistant","content":""}}],"model":"m"}',
        b'{"choices":[{"delta":{"reasoning_content":"hmm"}}]}',
        b'{"choices":[{"delta":{"reasoning":"so"}}]}',
        b'{"choices":[{"delta":{"content":"Hi"}}]}',
        b'{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function",'
        b'"function":{"name":"look","arguments":"{\\"q\\""}}]}}]}',
        b'{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}',
        b'{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}',
        b'{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}',
    ) for e in decoder.feed(decode_chunk(data, None))]
    assert events == [ReasoningDelta("hmm"), ReasoningDelta("so"), TextDelta("Hi"),
                      ToolInputStarted("c1", "look"), ToolInputDelta("c1", '{"q"'),
                      ToolInputDelta("c1", ":1}")]
    closing = decoder.finish()
    assert [type(e).__name__ for e in closing] == ["ToolInputEnded", "UsageReported", "Finished"]
    assert closing[0].arguments == '{"q":1}'  # type: ignore[union-attr]


def test_an_error_object_in_the_stream_is_raised_as_the_sdk_raises_it() -> None:
    with pytest.raises(openai.APIError, match="overloaded, try later"):
        decode_chunk(b'{"error":{"message":"overloaded, try later","type":"server_error"}}',
                     None)


def test_an_error_or_a_malformed_chunk_is_a_retryable_model_error() -> None:
    adapter = OpenAIAdapter(ProviderConfig(name="p", kind="openai-compatible",
                                           base_url="http://127.0.0.1:9/v1", api_key=None))
    with pytest.raises(openai.APIError) as raised:
        decode_chunk(b'{"error":{"message":"boom"}}', None)
    error = adapter._classify(raised.value)
    assert error is not None and error.retryable and "boom" in error.message
    with pytest.raises(msgspec.DecodeError) as malformed:
        decode_chunk(b'{"choices": [', None)
    error = adapter._classify(malformed.value)
    assert error is not None and error.retryable and "malformed" in error.message
