"""Events as msgspec Structs, and the registry from type name to Struct."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import msgspec

from app.eventstore.errors import UnknownEventType


class Event(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every domain event: immutable, named in the past tense.

    The stored type name is the class name. When an event's shape must change
    incompatibly, add a new Struct (`SessionStartedV2`) and upcast the old one on read.
    """

    event_type: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.event_type = cls.__name__


E = TypeVar("E", bound=type[Event])

_encoder = msgspec.json.Encoder()


class EventRegistry:
    """Knows how to turn stored (type, json) back into Structs."""

    def __init__(self, *types: type[Event]) -> None:
        self._types: dict[str, type[Event]] = {}
        self._decoders: dict[str, msgspec.json.Decoder[Any]] = {}
        for t in types:
            self.register(t)

    def register(self, event_type: E) -> E:
        self._types[event_type.event_type] = event_type
        self._decoders[event_type.event_type] = msgspec.json.Decoder(event_type)
        return event_type

    def encode(self, event: Event) -> bytes:
        if event.event_type not in self._types:
            raise UnknownEventType(event.event_type)
        return _encoder.encode(event)

    def decode(self, type_name: str, data: bytes | str) -> Event:
        try:
            decoder = self._decoders[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None
        event: Event = decoder.decode(data)
        return event
