"""The agent base class and the handler decorators that route messages by their type.

    class Editor(Agent):
        @handler
        async def review(self, message: Draft, ctx: MessageContext) -> Feedback:
            return Feedback(...)

A handler's message type comes from the type hint of its second parameter (a union means
several types); its return value is the RPC reply. ``@event`` handlers see only published
events, ``@rpc`` handlers only direct messages; ``@handler`` sees both.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, ClassVar, Literal, Mapping, Optional, TypeVar, Union

from ..model import AgentId, TopicId, TypeSubscription
from .cancellation import CancellationToken
from .context import MessageContext, _current
from .errors import CantHandle

if TYPE_CHECKING:
    from .runtime import AgentRuntime

HandlerKind = Literal["any", "event", "rpc"]
HandlerFunc = Callable[[Any, Any, MessageContext], Awaitable[Any]]
_UNRESOLVED: Any = object()  # "not looked up yet" in Agent._chosen (None there means "no handler")
F = TypeVar("F", bound=Callable[..., Any])

_HANDLER_ATTR = "__pyruntime_handler__"


class _RuntimeDefault:
    """Marker: "use the runtime's rpc_timeout" (``None`` means wait for ever)."""

    def __repr__(self) -> str:
        return "DEFAULT"


_DEFAULT: Any = _RuntimeDefault()
_TOPICS_ATTR = "__pyruntime_topic_types__"


@dataclass(frozen=True)
class _HandlerMark:
    kind: HandlerKind
    explicit_types: tuple[type, ...]


@dataclass(frozen=True)
class HandlerSpec:
    """One handler of an agent class: the function, the message types it takes, what it returns."""

    name: str
    func: HandlerFunc
    kind: HandlerKind
    message_types: tuple[type, ...]
    reply_types: tuple[type, ...]

    def accepts(self, is_rpc: bool) -> bool:
        return self.kind == "any" or (self.kind == "rpc") == is_rpc


def _types_of(annotation: Any) -> tuple[type, ...]:
    """The classes of a hint: ``A`` → (A,), ``A | B`` / ``Union[A, B]`` → (A, B); None dropped."""
    if annotation is None or annotation is type(None):
        return ()
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        found: list[type] = []
        for arg in typing.get_args(annotation):
            found.extend(_types_of(arg))
        return tuple(found)
    if isinstance(annotation, type):
        return (annotation,)
    if annotation is Any:
        return ()
    raise TypeError(f"handler type hint {annotation!r} is not a class or a union of classes")


def _mark(kind: HandlerKind, args: tuple[Any, ...]) -> Any:
    def decorate(func: F) -> F:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"handler {func.__qualname__} must be an 'async def' method")
        setattr(func, _HANDLER_ATTR, _HandlerMark(kind, explicit))
        return func

    if len(args) == 1 and inspect.isfunction(args[0]):
        explicit: tuple[type, ...] = ()
        return decorate(args[0])
    explicit = tuple(args)
    for cls in explicit:
        if not isinstance(cls, type):
            raise TypeError(f"@{kind} message types must be classes, got {cls!r}")
    return decorate


def handler(*args: Any) -> Any:
    """Mark an ``async def (self, message: T, ctx) -> R`` method as the handler for type ``T``.

    Use bare (``@handler``: types from the hint) or with explicit types (``@handler(A, B)``),
    which helps when the hint is a string that cannot be resolved (classes local to a function).
    """
    return _mark("any", args)


def event(*args: Any) -> Any:
    """Like :func:`handler`, for published events only (RPCs of this type skip it)."""
    return _mark("event", args)


def rpc(*args: Any) -> Any:
    """Like :func:`handler`, for direct messages (``send_message``) only."""
    return _mark("rpc", args)


def subscribe(topic_type: str = "default") -> Callable[[type], type]:
    """Class decorator: ``Agent.register`` subscribes the agent type to ``topic_type``.

    ``@subscribe()`` is AutoGen's default subscription (topic type ``"default"``); several
    decorators add several subscriptions.
    """

    def decorate(cls: type) -> type:
        existing = cls.__dict__.get(_TOPICS_ATTR, ())
        setattr(cls, _TOPICS_ATTR, (topic_type, *existing))
        return cls

    return decorate


def _collect_handlers(cls: type) -> tuple[HandlerSpec, ...]:
    specs: list[HandlerSpec] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, member in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)  # an override without a decorator is no longer a handler
            mark = getattr(member, _HANDLER_ATTR, None)
            if mark is not None:
                specs.append(_spec_for(cls, name, member, mark))
    return tuple(specs)


def _spec_for(cls: type, name: str, func: Any, mark: _HandlerMark) -> HandlerSpec:
    params = list(inspect.signature(func).parameters.values())
    if len(params) != 3:
        raise TypeError(f"handler {cls.__name__}.{name} must take (self, message, ctx)")
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:  # NameError for unresolvable string hints
        if not mark.explicit_types:
            raise TypeError(
                f"cannot resolve the type hints of handler {cls.__name__}.{name} ({exc}); "
                f"name the message types explicitly: @handler(MyMessage)"
            ) from None
        hints = {}
    message_types = mark.explicit_types or _types_of(hints.get(params[1].name))
    if not message_types:
        raise TypeError(f"handler {cls.__name__}.{name} needs a type hint on '{params[1].name}' (the message type)")
    reply_types = _types_of(hints.get("return")) if "return" in hints else ()
    return HandlerSpec(name, func, mark.kind, message_types, reply_types)


class Agent:
    """Base class of agents: handlers chosen by message type, plus send/publish helpers.

    Agents are built by the runtime through a factory (see ``register_factory``); inside the
    constructor ``self.id`` and ``self.runtime`` are already set. Override ``save_state`` and
    ``load_state`` to make an agent's state portable, ``close`` to release resources.
    """

    message_types: ClassVar[tuple[type, ...]] = ()
    """Extra classes this agent sends or gets back as replies that no handler takes; the
    runtime registers them (with handled and returned types) so their payloads decode."""

    _handler_specs: ClassVar[tuple[HandlerSpec, ...]] = ()
    _dispatch: ClassVar[dict[type, tuple[HandlerSpec, ...]]] = {}
    # (message type, is_rpc) -> the handler ``on_message`` runs (None: no handler fits). Filled on
    # first use, per class: dispatch is then one dict lookup per message.
    _chosen: ClassVar[dict[tuple[type, bool], Optional[HandlerFunc]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handler_specs = _collect_handlers(cls)
        table: dict[type, list[HandlerSpec]] = {}
        for spec in cls._handler_specs:
            for message_type in spec.message_types:
                table.setdefault(message_type, []).append(spec)
        cls._dispatch = {t: tuple(specs) for t, specs in table.items()}
        cls._chosen = {}

    def __init__(self, description: str = "") -> None:
        self.description = description
        context = _current.get(None)
        self._id: Optional[AgentId] = context.id if context else None
        self._runtime: Optional["AgentRuntime"] = context.runtime if context else None

    # -- identity -------------------------------------------------------------------------
    @property
    def id(self) -> AgentId:
        if self._id is None:
            raise RuntimeError("this agent was not created by a runtime; register a factory instead")
        return self._id

    @property
    def runtime(self) -> "AgentRuntime":
        if self._runtime is None:
            raise RuntimeError("this agent was not created by a runtime; register a factory instead")
        return self._runtime

    def _bind(self, agent_id: AgentId, runtime: "AgentRuntime") -> None:
        self._id = agent_id
        self._runtime = runtime

    # -- dispatch -------------------------------------------------------------------------
    @classmethod
    def handled_types(cls) -> tuple[type, ...]:
        """Every message type some handler accepts (the runtime registers their serializers)."""
        return tuple(cls._dispatch)

    @classmethod
    def reply_types(cls) -> tuple[type, ...]:
        """Every type a handler declares it returns."""
        seen: dict[type, None] = {}
        for spec in cls._handler_specs:
            for t in spec.reply_types:
                seen[t] = None
        return tuple(seen)

    @classmethod
    def _handlers_for(cls, message_type: type) -> tuple[HandlerSpec, ...]:
        found = cls._dispatch.get(message_type)
        if found is None:
            # Subclasses of a handled type: resolve once, then cache per agent class.
            matches = [spec for t, specs in cls._dispatch.items() if issubclass(message_type, t) for spec in specs]
            found = tuple(matches)
            cls._dispatch = {**cls._dispatch, message_type: found}
        return found

    @classmethod
    def _choose(cls, message_type: type, is_rpc: bool) -> Optional[HandlerFunc]:
        chosen = next((spec.func for spec in cls._handlers_for(message_type) if spec.accepts(is_rpc)), None)
        cls._chosen[(message_type, is_rpc)] = chosen
        return chosen

    async def on_message(self, message: Any, ctx: MessageContext) -> Any:
        """Run the first handler that takes ``type(message)`` for this kind of delivery."""
        key = (type(message), ctx.is_rpc)
        chosen = self._chosen.get(key, _UNRESOLVED)
        if chosen is _UNRESOLVED:
            chosen = self._choose(*key)
        if chosen is not None:
            return await chosen(self, message, ctx)  # type: ignore[operator]
        return await self.on_unhandled(message, ctx)

    async def on_unhandled(self, message: Any, ctx: MessageContext) -> Any:
        """Called when no handler fits; raises ``CantHandle`` (an RPC caller sees the error)."""
        kind = "rpc" if ctx.is_rpc else "event"
        raise CantHandle(f"agent {self._id} has no {kind} handler for message type {type(message).__name__}")

    # -- talking to others ----------------------------------------------------------------
    async def send_message(
        self,
        message: Any,
        recipient: AgentId,
        *,
        timeout: Optional[float] = _DEFAULT,
        cancellation: Optional[CancellationToken] = None,
    ) -> Any:
        """RPC to ``recipient`` with this agent as sender; returns the reply.

        ``timeout`` defaults to the runtime's ``rpc_timeout``; ``None`` waits for ever.
        """
        return await self.runtime.send_message(
            message, recipient, sender=self.id, timeout=timeout, cancellation=cancellation
        )

    async def publish_message(self, message: Any, topic: TopicId, *, message_id: Optional[str] = None) -> None:
        """Publish ``message`` to ``topic`` with this agent as sender (it is not delivered back to it)."""
        await self.runtime.publish_message(message, topic, sender=self.id, message_id=message_id)

    # -- lifecycle and state ----------------------------------------------------------------
    def save_state(self) -> Mapping[str, Any]:
        """The agent's state as a JSON-compatible mapping (default: nothing)."""
        return {}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore what ``save_state`` returned."""

    async def close(self) -> None:
        """Called once when the runtime stops."""

    # -- registration convenience ---------------------------------------------------------
    @classmethod
    async def register(
        cls,
        runtime: "AgentRuntime",
        agent_type: str,
        factory: Optional[Callable[[], Any]] = None,
    ) -> str:
        """Register ``factory`` (default: ``cls``) as ``agent_type`` and add the class's ``@subscribe`` topics."""
        await runtime.register_factory(agent_type, factory or cls, expected_class=cls)
        for topic_type in getattr(cls, _TOPICS_ATTR, ()):
            await runtime.add_subscription(TypeSubscription(topic_type=topic_type, agent_type=agent_type))
        return agent_type
