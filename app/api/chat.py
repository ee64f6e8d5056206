"""Chat over SSE in the AI SDK UI message stream protocol, resumable from any instance."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Stream

from app.adapters.streams.sse import HEADERS, MEDIA_TYPE, parse_last_event_id
from app.api.auth import requires
from app.api.problems import ProblemError, trace_id_of
from app.bootstrap import Services
from app.domain import decisions
from app.domain.accounts import Account, Permission
from app.domain.events import Multitask
from app.services import chat, turn_streams

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAX_TEXT = 100_000


class UIMessageIn(msgspec.Struct, kw_only=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: Literal["user", "assistant", "system"]
    parts: list[dict[str, Any]]
    metadata: Any = None


class ChatRequest(msgspec.Struct, kw_only=True, rename={"robot_id": "robotId",
                                                         "message_id": "messageId"}):
    """What `useChat`'s DefaultChatTransport sends, plus our robotId and multitask."""

    id: str
    messages: Annotated[list[UIMessageIn], msgspec.Meta(min_length=1)]
    trigger: Literal["submit-message", "regenerate-message"] = "submit-message"
    message_id: str | None = None
    robot_id: str | None = None
    multitask: Multitask = "reject"


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


def _last_message(body: ChatRequest) -> tuple[str, list[dict[str, Any]]]:
    """Only the last message is taken: history comes from the log."""
    if not _SESSION_ID.match(body.id):
        raise ProblemError(400, "id must be 1-128 letters, digits, '-' or '_'",
                           slug="invalid-request", metadata={"field": "id"})
    if body.trigger != "submit-message":
        raise ProblemError(400, "only trigger 'submit-message' is supported",
                           slug="invalid-request", metadata={"field": "trigger"})
    last = body.messages[-1]
    if last.role != "user":
        raise ProblemError(400, "the last message must be the user's (role 'user')",
                           slug="invalid-request", metadata={"field": "messages"})
    texts = [p for p in last.parts if p.get("type") == "text"]
    if not texts or not all(isinstance(p.get("text"), str) for p in texts):
        raise ProblemError(400, "the last message needs a text part: {type: 'text', text}",
                           slug="invalid-request", metadata={"field": "messages"})
    if not "".join(p["text"] for p in texts).strip():
        raise ProblemError(400, "the message text is empty", slug="invalid-request",
                           metadata={"field": "messages"})
    if sum(len(p["text"]) for p in texts) > MAX_TEXT:
        raise ProblemError(413, f"the message is longer than {MAX_TEXT} characters",
                           slug="message-too-long", metadata={"field": "messages"})
    return last.id, [{"type": "text", "text": p["text"]} for p in texts]


async def post_chat(request: Request[Account, Any, Any], services: Services,
                body: ChatRequest) -> chat.ChatTurn:
    message_id, parts = _last_message(body)
    try:
        return await chat.post_message(
            services, request.user, session_id=body.id, message_id=message_id, parts=parts,
            robot_id=body.robot_id, multitask=body.multitask, trace_id=trace_id_of(request))
    except decisions.TurnActive as exc:
        raise ProblemError(409, str(exc), slug="turn-active",
                           metadata={"active_turn_id": exc.turn_id}) from None
    except decisions.SessionGone as exc:
        raise ProblemError(410, str(exc), slug="session-deleted") from None
    except chat.RobotUnavailable as exc:
        raise ProblemError(422, str(exc), slug="invalid-field",
                           metadata={"field": "robotId"}) from None


class ChatController(Controller):
    tags = ["chat"]
    guards = [requires(Permission.USE_ROBOTS)]

    @post("/robots/chat/sse", status_code=200)
    async def chat_sse(self, request: Request[Account, Any, Any],
                       services: NamedDependency[Services], data: JSONBody[ChatRequest],
                       ) -> Stream:
        """Post the last message and stream the robot's reply (AI SDK UI message stream).

        The same message posted again attaches to the first post's turn. A second message
        while a turn is active: 409 with `active_turn_id` (multitask 'reject', the default),
        queued after it ('enqueue'), or run after cancelling it ('interrupt').
        """
        turn = await post_chat(request, services, data)
        return _stream(turn_streams.stream_turn(services, turn.session_id, turn.turn_id,
                                        just_posted=turn.is_new))

    @get(["/robots/sessions/{session_id:str}/stream",
          "/robots/chat/sse/{session_id:str}/stream"])
    async def resume(
        self, services: NamedDependency[Services], session_id: FromPath[str],
        last_event_id: Annotated[str | None, HeaderParameter(name="last-event-id")] = None,
        after: Annotated[int | None, QueryParameter(description="Resume after this sequence",
                                                    ge=0)] = None,
        turn_id: Annotated[str | None, QueryParameter(description="A specific turn")] = None,
    ) -> Stream | Response[None]:
        """The active (or latest, while buffered) turn's stream, from the start or from
        `Last-Event-ID` / `?after=`. 204 when there is nothing to stream."""
        chosen = turn_id or await turn_streams.turn_to_resume(services, session_id)
        if chosen is None:
            return Response(None, status_code=204)
        start = after if after is not None else parse_last_event_id(last_event_id, chosen)
        return _stream(turn_streams.stream_turn(services, session_id, chosen, start or 0))

    @post("/robots/sessions/{session_id:str}/turns/{turn_id:str}/cancel", status_code=200)
    async def cancel(self, request: Request[Account, Any, Any],
                     services: NamedDependency[Services], session_id: FromPath[str],
                     turn_id: FromPath[str]) -> TurnState:
        """Stop a turn (from any instance, within a second). Idempotent: a finished turn
        answers with its final state."""
        try:
            after = await chat.cancel(services, request.user, session_id, turn_id)
        except decisions.UnknownTurn as exc:
            raise ProblemError(404, str(exc), slug="not-found") from None
        turn = after.turn(turn_id)
        assert turn is not None
        return TurnState(turnId=turn_id, status=turn.status,
                         cancelRequested=turn.cancel_requested, attempt=turn.attempt)
