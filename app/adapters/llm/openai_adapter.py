"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, llama.cpp) through `openai.AsyncOpenAI`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx2
import msgspec
import openai
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionAssistantMessageParam,
    ChatCompletionContentPartImageParam,
    ChatCompletionContentPartParam,
    ChatCompletionContentPartTextParam,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.chat.chat_completion_content_part_param import File

from app.adapters.llm.base import (
    ModelError,
    ModelInfo,
    ModelRequest,
    PromptFile,
    PromptMessage,
    ProviderConfig,
)
from app.adapters.llm.errors import connection_error, redact, status_error, timed_out
from app.adapters.llm.events import ModelEvent
from app.adapters.llm.openai_chunks import ChunkDecoder, decode_chunk
from app.adapters.llm.retry import Backoff, retrying, retrying_call
from app.adapters.llm.sse_events import SSEParser

NO_KEY = "not-needed"  # the SDK insists on a key; local servers ignore it


class OpenAIAdapter:
    """A provider of kind `openai` or `openai-compatible` (and the transport of `local`).

    With no `api_key`, `openai` reads `OPENAI_API_KEY`; `openai-compatible` sends a
    placeholder rather than that key, so a real OpenAI key never goes to another server.
    """

    def __init__(self, config: ProviderConfig, *, backoff: Backoff | None = None) -> None:
        self.name = config.name
        self._config = config
        self._backoff = backoff or Backoff()
        self._client: openai.AsyncOpenAI | None = None

    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        return retrying(lambda: self._attempt(request), self._classify,
                        max_retries=self._config.max_retries, backoff=self._backoff)

    async def complete(self, request: ModelRequest) -> str:
        return await retrying_call(lambda: self._complete(request), self._classify,
                                   max_retries=self._config.max_retries, backoff=self._backoff)

    async def list_models(self) -> list[ModelInfo]:
        try:
            page = self._sdk().models.list()
            return [ModelInfo(id=m.id, name=m.id, provider=self.name) async for m in page]
        except Exception as exc:
            error = self._classify(exc)
            if error is None or error is exc:
                raise
            raise error from None  # the SDK's error may quote the key; see retry.retrying

    async def warm(self) -> None:
        """See ModelProvider.warm: building the client imports the SDK and sets up TLS,
        ~0.1 s that would otherwise stall every turn of the worker."""

        with contextlib.suppress(ModelError):
            await asyncio.to_thread(self._sdk)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _complete(self, request: ModelRequest) -> str:
        completion = await self._sdk().post("/chat/completions", cast_to=ChatCompletion,
                                            body=self._request_body(request))
        return (completion.choices[0].message.content or "") if completion.choices else ""

    def _request_body(self, request: ModelRequest, *, stream: bool = False) -> dict[str, Any]:
        official = self._config.kind == "openai"
        body: dict[str, Any] = {
            "model": request.model, "messages": _messages(request),
            # OpenAI's reasoning models refuse `max_tokens`; most other servers only know it.
            "max_completion_tokens" if official else "max_tokens": request.max_tokens,
        }
        # Sent only when the robot sets them: many models refuse one or the other (OpenAI's
        # reasoning models a temperature, most others an effort), and say so.
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.reasoning_effort is not None:
            body["reasoning_effort"] = request.reasoning_effort
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        if request.tools:
            body["tools"] = [_tool(t.name, t.description, t.input_schema) for t in request.tools]
        return body

    async def _attempt(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        body = self._request_body(request, stream=True)
        # The SDK sends the request, with its headers, auth and status errors, through its
        # documented `post`: `create` would first walk every message through its TypedDict
        # transform, about 0.2 ms each (20 ms of a worker's event loop for a 100-message
        # history), to build this same body. The body is decoded here (see sse_events: the
        # SDK's per-chunk objects cost more than the rest of a delta).
        response = await self._sdk().post("/chat/completions", cast_to=httpx2.Response,
                                          body=body, stream=True)
        try:
            decoder = ChunkDecoder(self.name)
            parser = SSEParser()
            done = False
            async for raw in _body(response):
                for _, data in parser.feed(raw):
                    # Read on past [DONE] to the end of the body: the connection is reused.
                    done = done or data.startswith(b"[DONE]")
                    if not done:
                        for event in decoder.feed(decode_chunk(data, response.request)):
                            yield event
        finally:
            await response.aclose()
        for event in decoder.finish():
            yield event

    def _sdk(self) -> openai.AsyncOpenAI:
        if self._client is None:
            key = self._config.api_key
            if key is None and self._config.kind != "openai":
                key = NO_KEY
            try:
                self._client = openai.AsyncOpenAI(
                    api_key=key, base_url=self._config.base_url,
                    max_retries=0,  # ours are the only retries: only before the first event
                    timeout=self._config.timeout_s,
                    # The SDK's aiohttp transport reads a stream for about a third of the
                    # CPU its default one takes (bench/turns/, 1,000 streams).
                    http_client=openai.DefaultAioHttpClient(),
                )
            except openai.OpenAIError as exc:
                raise ModelError(f"model provider '{self.name}' is not configured: "
                                 f"{redact(str(exc), key)}") from None
        return self._client

    def _base_url(self) -> str | None:
        return str(self._client.base_url) if self._client is not None else None

    def _classify(self, exc: Exception) -> ModelError | None:
        key = self._config.api_key
        if isinstance(exc, ModelError):
            return exc
        if isinstance(exc, openai.APIStatusError):
            return status_error(self.name, exc.status_code, exc.body, exc.message,
                                exc.response.headers, key)
        if isinstance(exc, openai.APIConnectionError):
            return connection_error(self.name, exc, timeout_s=self._config.timeout_s,
                                    secret=key, base_url=self._base_url())
        if isinstance(exc, openai.APIError):  # an error object inside the stream
            return ModelError(f"model provider '{self.name}' reported an error: "
                              f"{redact(exc.message, key)}", retryable=True)
        if isinstance(exc, openai.OpenAIError):
            return ModelError(f"model provider '{self.name}' failed: {redact(str(exc), key)}")
        if isinstance(exc, msgspec.DecodeError):
            return ModelError(f"model provider '{self.name}' sent a malformed chunk: "
                              f"{redact(str(exc), key)}", retryable=True)
        return None


def _messages(request: ModelRequest) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = []
    if request.system:
        messages.append(ChatCompletionSystemMessageParam(role="system", content=request.system))
    for message in request.messages:
        if message.role == "user":
            messages.append(ChatCompletionUserMessageParam(role="user",
                                                           content=_user_content(message)))
        elif message.role == "assistant":
            messages.append(_assistant(message))
        else:
            # One message per result; OpenAI has no error flag, the output says what happened.
            messages += [ChatCompletionToolMessageParam(role="tool", tool_call_id=r.call_id,
                                                        content=r.output)
                         for r in message.tool_results]
    return messages


def _user_content(message: PromptMessage) -> str | list[ChatCompletionContentPartParam]:
    """The user's text; with files, a list of parts: the files, then the text."""
    if not message.files:
        return message.text
    parts = [_file_part(f) for f in message.files]
    if message.text:
        parts.append(ChatCompletionContentPartTextParam(type="text", text=message.text))
    return parts


def _file_part(file: PromptFile) -> ChatCompletionContentPartParam:
    """An image as an `image_url` part (its data as a data: URL, or its https URL); a PDF
    as a `file` part, which takes it only as data (workers refuse a PDF by URL before)."""
    if file.media_type != "application/pdf":
        return ChatCompletionContentPartImageParam(type="image_url",
                                                   image_url={"url": file.data_url()})
    if file.data is None:
        raise ModelError("OpenAI's chat completions take a PDF only as data, not by URL")
    return File(type="file", file={"filename": file.filename or "document.pdf",
                                   "file_data": file.data_url()})


def _assistant(message: PromptMessage) -> ChatCompletionAssistantMessageParam:
    if not message.tool_calls:
        return ChatCompletionAssistantMessageParam(role="assistant", content=message.text)
    return ChatCompletionAssistantMessageParam(
        role="assistant", content=message.text or None,
        tool_calls=[ChatCompletionMessageFunctionToolCallParam(
            id=c.call_id, type="function",
            function={"name": c.name, "arguments": c.arguments})
            for c in message.tool_calls],
    )


def _tool(name: str, description: str,
          schema: dict[str, object]) -> ChatCompletionFunctionToolParam:
    return {"type": "function",
            "function": {"name": name, "description": description, "parameters": schema}}


async def _body(response: httpx2.Response) -> AsyncIterator[bytes]:
    """The response body, its transport errors raised as the SDK raises them."""
    try:
        async for raw in response.aiter_bytes():
            yield raw
    except openai.OpenAIError:
        raise
    except Exception as exc:  # the SDK's HTTP library's own read errors and timeouts
        error = openai.APITimeoutError if timed_out(exc) else openai.APIConnectionError
        raise error(request=response.request) from exc
