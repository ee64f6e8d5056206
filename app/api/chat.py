"""Chat over SSE in the AI SDK UI message stream protocol, resumable from any instance."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, HeaderParameter, QueryParameter
from litestar.response import Stream

from app.adapters.streams.retries import FEATURES_HEADER, takes_reset_step
from app.adapters.streams.sse import HEADERS, MEDIA_TYPE, parse_last_event_id
from app.api.answers import answers_in
from app.api.auth import requires
from app.api.openapi import event_stream, nothing_to_stream, problems
from app.api.problems import ProblemError, trace_id_of
from app.api.user_parts import user_parts
from app.bootstrap import Services
from app.config.settings import Settings
from app.domain import decisions
from app.domain.accounts import Account, Permission
from app.domain.events import Multitask, Part
from app.services import chat, turn_streams
from app.services.files import FileUpload, store_files

STREAM_PROTOCOL = ("The AI SDK UI message stream (v1): `data: <json chunk>` frames, each with"
                   " an `id:` to resume from, ending with `data: [DONE]`.")
StreamFeatures = Annotated[str | None, HeaderParameter(
    name=FEATURES_HEADER, description=(
        "`reset-step`: the client (AI SDK 7) takes `reset-step` chunks, so a retried"
        " attempt drops a dead attempt's partial output in place; without it the stream"
        " ends with an `error` part and a resume from the start gives the whole message"))]


class UIMessageIn(msgspec.Struct, kw_only=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: Literal["user", "assistant", "system"]
    parts: list[dict[str, Any]]
    metadata: Any = None


class ChatRequest(msgspec.Struct, kw_only=True, rename={"robot_id": "robotId",
                                                         "message_id": "messageId"}):
    """What `useChat`'s DefaultChatTransport sends, plus our robotId and multitask."""

    # In the type, not a check of our own, so that the OpenAPI document shows it.
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,128}$", description=(
        "The session (a new id starts one): 1-128 letters, digits, '-' or '_'"))]
    messages: Annotated[list[UIMessageIn], msgspec.Meta(min_length=1)]
    trigger: Annotated[Literal["submit-message", "regenerate-message"], msgspec.Meta(
        description=("'submit-message': answer the last message. 'regenerate-message' (the"
                     " AI SDK's regenerate()): answer the latest question again; the new"
                     " answer replaces the latest one"))] = "submit-message"
    message_id: Annotated[str | None, msgspec.Meta(description=(
        "With 'regenerate-message': the answer to replace, or its question (default: the"
        " last message sent). Only the latest answer can be: 409 for an older one"))] = None
    robot_id: str | None = None
    multitask: Multitask = "reject"


# The body with an example: the document's readers (and the fuzzer) start from a real chat.
ChatBody = Annotated[ChatRequest, Body(examples=[Example(summary="A first message", value={
    "id": "my-session",
    "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Hello"}]}],
})])]


class TurnAccepted(msgspec.Struct, kw_only=True):
    sessionId: str
    turnId: str
    messageId: str
    streamUrl: str


class TurnState(msgspec.Struct, kw_only=True):
    turnId: str
    status: str
    cancelRequested: bool
    attempt: int


async def start_in_background(request: Request[Account, Any, Any], services: Services,
                              data: ChatRequest) -> TurnAccepted:
    turn = await post_chat(request, services, data)
    return TurnAccepted(sessionId=turn.session_id, turnId=turn.turn_id,
                        messageId=turn.message_id,
                        streamUrl=f"/robots/sessions/{turn.session_id}/stream"
                                  f"?turn_id={turn.turn_id}")


def _stream(frames: Any) -> Stream:
    return Stream(content=frames, media_type=MEDIA_TYPE, headers=HEADERS)


def _last_message(body: ChatRequest,
                  settings: Settings) -> tuple[str, list[Part | FileUpload]]:
    """Only the last message is taken: history comes from the log."""
    last = body.messages[-1]
    if last.role != "user":
        raise ProblemError(400, "the last message must be the user's (role 'user')",
                           slug="invalid-request", metadata={"field": "messages"})
    # Text and files (images, PDFs), checked in app/api/user_parts.py.
    return last.id, user_parts(last.parts, settings,
                               f"messages[{len(body.messages) - 1}].parts")


async def post_chat(request: Request[Account, Any, Any], services: Services,
                body: ChatRequest) -> chat.ChatTurn:
    try:
        if body.trigger == "regenerate-message":
            return await _regenerate(request, services, body)
        if body.messages[-1].role == "assistant":
            return await _answer(request, services, body)
        message_id, posted = _last_message(body, services.settings)
        parts = await store_files(services, posted)  # before the event that names them
        return await chat.post_message(
            services, request.user, session_id=body.id, message_id=message_id, parts=parts,
            robot_id=body.robot_id, multitask=body.multitask, trace_id=trace_id_of(request))
    except decisions.MessageIdTaken as exc:
        raise ProblemError(409, str(exc), slug="message-id-taken",
                           metadata={"message_id": exc.message_id}) from None
    except decisions.TurnWaiting as exc:
        raise ProblemError(409, str(exc), slug="turn-waiting", metadata={
            "active_turn_id": exc.turn_id, "waiting_call_ids": exc.call_ids}) from None
    except decisions.TurnActive as exc:
        raise ProblemError(409, str(exc), slug="turn-active",
                           metadata={"active_turn_id": exc.turn_id}) from None
    except decisions.SessionGone as exc:
        raise ProblemError(410, str(exc), slug="session-deleted",
                           metadata={"session_id": body.id}) from None
    except chat.RobotUnavailable as exc:
        raise ProblemError(422, str(exc), slug="invalid-field",
                           metadata={"field": "robotId"}) from None


async def _regenerate(request: Request[Account, Any, Any], services: Services,
                      body: ChatRequest) -> chat.ChatTurn:
    """The latest question answered again. Without `messageId`, the client means its last
    message: a client whose view is behind the session's gets a 409, not a wrong answer."""
    message_id = body.message_id or body.messages[-1].id
    try:
        return await chat.regenerate(
            services, request.user, session_id=body.id, message_id=message_id,
            robot_id=body.robot_id, multitask=body.multitask, trace_id=trace_id_of(request))
    except (decisions.SessionNotFound, decisions.UnknownMessage) as exc:
        raise ProblemError(404, str(exc), slug="not-found", metadata={
            "session_id": body.id, "message_id": message_id}) from None
    except decisions.NotLatestAnswer as exc:
        raise ProblemError(409, str(exc), slug="not-latest-answer", metadata={
            "message_id": exc.message_id, "latest_message_id": exc.latest_message_id,
        }) from None


async def _answer(request: Request[Account, Any, Any], services: Services,
                  body: ChatRequest) -> chat.ChatTurn:
    """The last message is the assistant's: the client answers the calls its turn waits
    on (app/api/answers.py), and the turn goes on in that message."""
    last = body.messages[-1]
    try:
        return await chat.answer_calls(
            services, request.user, session_id=body.id, message_id=last.id,
            answers=answers_in(last.parts), trace_id=trace_id_of(request))
    except decisions.UnknownTurn as exc:
        raise ProblemError(404, str(exc), slug="not-found", metadata={
            "session_id": body.id, "message_id": last.id}) from None
    except decisions.NotWaiting as exc:
        raise ProblemError(409, str(exc), slug="not-waiting", metadata={
            "turn_id": exc.turn_id, "call_ids": exc.call_ids}) from None
    except decisions.PartlyAnswered as exc:
        raise ProblemError(409, str(exc), slug="calls-unanswered", metadata={
            "turn_id": exc.turn_id, "waiting_call_ids": exc.still_waiting}) from None


class ChatController(Controller):
    tags = ["chat"]
    guards = [requires(Permission.USE_ROBOTS)]

    @post("/robots/chat/sse", status_code=200, media_type=MEDIA_TYPE,
          summary="Chat: post a message and stream the reply",
          responses={**event_stream(STREAM_PROTOCOL),
                     **problems(403, 404, 409, 410, 413, 422)})
    async def chat_sse(self, request: Request[Account, Any, Any],
                       services: NamedDependency[Services], data: ChatBody,
                       features: StreamFeatures = None) -> Stream:
        """Post the last message and stream the robot's reply (AI SDK UI message stream).

        The same message posted again attaches to the first post's turn; its id with other
        content is a 409 (message ids are the client's, one per message). A second message
        while a turn is active: 409 with `active_turn_id` (multitask 'reject', the default),
        queued after it ('enqueue'), or run after cancelling it ('interrupt'). The last
        message may instead be the assistant's, answering the tool calls its turn waits on
        (approvals, client tools' outputs): the turn goes on in that message (404 when no
        turn of this session wrote it, 409 when the answers do not fit the wait). With
        trigger 'regenerate-message' a new turn answers the latest question again, its
        answer replacing the latest one in the session's messages (the log keeps both); an
        older answer is a 409 that says to fork.
        """
        turn = await post_chat(request, services, data)
        return _stream(await turn_streams.stream_turn(services, turn.session_id, turn.turn_id,
                                        just_posted=turn.is_new, stream_id=turn.stream,
                                        resets=takes_reset_step(features)))

    @get(["/robots/sessions/{session_id:str}/stream",
          "/robots/chat/sse/{session_id:str}/stream"], media_type=MEDIA_TYPE,
         summary="Resume a turn's stream",
         responses={**event_stream(STREAM_PROTOCOL), **nothing_to_stream(),
                    **problems(403, 404)})
    async def resume(
        self, services: NamedDependency[Services], session_id: FromPath[str],
        last_event_id: Annotated[str | None, HeaderParameter(name="last-event-id")] = None,
        after: Annotated[int | None, QueryParameter(description="Resume after this sequence",
                                                    ge=0)] = None,
        turn_id: Annotated[str | None, QueryParameter(description="A specific turn")] = None,
        features: StreamFeatures = None,
    ) -> Stream | Response[None]:
        """The active (or latest, while buffered) turn's stream, from the start or from
        `Last-Event-ID` / `?after=`. 204 when there is nothing to stream; 404 for a session
        that does not exist or a `turn_id` that is not this session's."""
        try:
            chosen = await turn_streams.turn_to_resume(services, session_id, turn_id)
        except (decisions.SessionNotFound, decisions.UnknownTurn) as exc:
            raise ProblemError(404, str(exc), slug="not-found", metadata={
                "session_id": session_id, **({"turn_id": turn_id} if turn_id else {})}) from None
        if chosen is None:
            return Response(None, status_code=204)
        chosen_turn, stream_id = chosen
        start = after if after is not None else parse_last_event_id(last_event_id, stream_id)
        return _stream(await turn_streams.stream_turn(services, session_id, chosen_turn,
                                                start or 0, stream_id=stream_id,
                                                resets=takes_reset_step(features)))

    @post("/robots/sessions/{session_id:str}/turns/{turn_id:str}/cancel", status_code=200,
          summary="Cancel a turn", responses=problems(403, 404, 409))
    async def cancel(self, request: Request[Account, Any, Any],
                     services: NamedDependency[Services], session_id: FromPath[str],
                     turn_id: FromPath[str]) -> TurnState:
        """Stop a turn (from any instance, within a second). Idempotent: a finished turn
        answers with its final state."""
        try:
            after = await chat.cancel(services, request.user, session_id, turn_id)
        except decisions.UnknownTurn as exc:
            raise ProblemError(404, str(exc), slug="not-found",
                               metadata={"session_id": session_id, "turn_id": turn_id}) from None
        turn = after.turn(turn_id)
        assert turn is not None
        return TurnState(turnId=turn_id, status=turn.status,
                         cancelRequested=turn.cancel_requested, attempt=turn.attempt)
