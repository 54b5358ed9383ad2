"""Tenant isolation on a shared host: each tenant lives in its own name space.

The host routes events by *topic type* (the topic *source* only becomes the agent key in
the worker), and any client may subscribe its agent types to any topic, call any agent
type and send control messages to anyone. So on a plain host, tenants that share it can
read each other's events and agents. ``TenantNamespaceGuard`` makes the sharing safe
for authenticated tenants: a tenant ``T`` (by default the common name of its client
certificate, so use mutual TLS; or the bearer token, with ``tenant_from_tokens``) may only use
names that start with ``T.``::

    HostOptions(tls_cert=..., tls_key=..., tls_client_ca=...,
                interceptors=[ClientIdGuard(), TenantNamespaceGuard()])

* ``RegisterAgent``: the agent type must start with ``T.``;
* ``AddSubscription``: the agent type and the topic type (or prefix) must start with ``T.``;
* ``GetSubscriptions``: lists only the tenant's own subscriptions;
* ``OpenChannel``: every published event's topic type and every request's target type must
  start with ``T.`` (responses pass: the host only routes them back to the caller);
* ``OpenControlChannel``: ``agentid=`` destinations must name a ``T.`` type, ``clientid=``
  destinations a client-id this guard has seen from tenant ``T``.

A violation ends the call with ``PERMISSION_DENIED`` (a stream is cut at the offending
frame, which never reaches the host). The cost: every stream frame is parsed once more.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Awaitable, Callable, Mapping

import grpc
from google.protobuf.message import DecodeError

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime.security.identity import client_id_of
from pyruntime.security.stream_guard import JudgedContext, JudgedRequests, guard_method_handler, guard_stream_handler
from pyruntime.security.tls import peer_common_names
from pyruntime.security.tokens import AUTHORIZATION_KEY, BEARER_PREFIX

TenantOf = Callable[[grpc.aio.ServicerContext], "str | None"]

_UNARY_REQUESTS: dict[str, Any] = {
    "RegisterAgent": pb.RegisterAgentTypeRequest,
    "AddSubscription": pb.AddSubscriptionRequest,
    "RemoveSubscription": pb.RemoveSubscriptionRequest,
    "GetSubscriptions": pb.GetSubscriptionsRequest,
}


def tenant_from_certificate(context: grpc.aio.ServicerContext) -> str | None:
    """The verified client certificate's (first) common name; None without mutual TLS."""
    names = peer_common_names(context)
    return names[0] if names else None


def tenant_from_tokens(tenants_by_token: Mapping[str, str]) -> TenantOf:
    """A ``tenant_of`` for token-authenticated hosts: the bearer token presented names the tenant.

    Install it behind a :class:`~pyruntime.security.tokens.BearerTokenInterceptor` that accepts
    exactly these tokens (the guard only maps; the token check has already refused strangers).
    """
    by_value = {BEARER_PREFIX + token: tenant for token, tenant in tenants_by_token.items()}

    def tenant_of(context: grpc.aio.ServicerContext) -> str | None:
        for key, value in context.invocation_metadata() or ():
            if key == AUTHORIZATION_KEY:
                text = value if isinstance(value, str) else value.decode("utf-8", "replace")
                return by_value.get(text)
        return None

    return tenant_of


def _subscription_names(subscription: pb.Subscription) -> tuple[str, str] | None:
    kind = subscription.WhichOneof("subscription")
    if kind == "typeSubscription":
        return subscription.typeSubscription.topic_type, subscription.typeSubscription.agent_type
    if kind == "typePrefixSubscription":
        return subscription.typePrefixSubscription.topic_type_prefix, subscription.typePrefixSubscription.agent_type
    return None


class TenantNamespaceGuard(grpc.aio.ServerInterceptor):
    """Confines each tenant to names starting with ``<tenant><separator>`` (see the module docstring)."""

    def __init__(self, tenant_of: TenantOf = tenant_from_certificate, separator: str = ".",
                 max_clients: int = 100_000) -> None:
        if not separator:
            raise ValueError("separator must not be empty")
        self._tenant_of = tenant_of
        self._separator = separator
        self._client_tenants: OrderedDict[str, str] = OrderedDict()
        self._max_clients = max_clients

    def prefix(self, tenant: str) -> str:
        return tenant + self._separator

    def _remember(self, context: grpc.aio.ServicerContext, tenant: str) -> str | None:
        """Record which tenant uses the call's client-id; a refusal if another tenant already does."""
        client_id = client_id_of(context)
        if client_id is None:
            return None
        known = self._client_tenants.get(client_id)
        if known is None:
            self._client_tenants[client_id] = tenant
            if len(self._client_tenants) > self._max_clients:
                self._client_tenants.popitem(last=False)
            return None
        if known != tenant:
            return f"client-id {client_id[:120]!r} belongs to another tenant; each client must use its own client-id"
        return None

    def _outside(self, tenant: str, what: str, name: str) -> str:
        return (
            f"tenant {tenant!r} may only use names starting with {self.prefix(tenant)!r}; "
            f"{what} {name[:120]!r} is outside it"
        )

    # ----- per-request checks (None: allowed; else the refusal) -------------------------
    def check_unary(self, method: str, tenant: str, request: Any) -> str | None:
        prefix = self.prefix(tenant)
        if method == "RegisterAgent":
            if not request.type.startswith(prefix):
                return self._outside(tenant, "agent type", request.type)
        elif method == "AddSubscription":
            names = _subscription_names(request.subscription)
            if names is not None:
                topic, agent_type = names
                if not agent_type.startswith(prefix):
                    return self._outside(tenant, "agent type", agent_type)
                if not topic.startswith(prefix):
                    return self._outside(tenant, "topic type", topic)
        return None

    def check_data_frame(self, tenant: str, message: pb.Message) -> str | None:
        prefix = self.prefix(tenant)
        kind = message.WhichOneof("message")
        if kind == "cloudEvent" and not message.cloudEvent.type.startswith(prefix):
            return self._outside(tenant, "topic type", message.cloudEvent.type)
        if kind == "request" and not message.request.target.type.startswith(prefix):
            return self._outside(tenant, "target agent type", message.request.target.type)
        return None

    def check_control_frame(self, tenant: str, message: pb.ControlMessage) -> str | None:
        destination = message.destination
        if destination.startswith("agentid="):
            agent_type = destination[len("agentid="):].partition("/")[0]
            if not agent_type.startswith(self.prefix(tenant)):
                return self._outside(tenant, "destination agent type", agent_type)
        elif destination.startswith("clientid="):
            client_id = destination[len("clientid="):]
            if self._client_tenants.get(client_id) != tenant:
                return f"tenant {tenant!r} may only send control messages to its own clients, not {client_id[:120]!r}"
        return None

    # ----- wiring ------------------------------------------------------------------------
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rpartition("/")[2]
        control = method == "OpenControlChannel"
        parse = pb.ControlMessage.FromString if control else pb.Message.FromString
        check = self.check_control_frame if control else self.check_data_frame
        return guard_method_handler(
            handler,
            stream=lambda behavior: self._guard_stream(behavior, parse, check),
            unary=lambda behavior: self._guard_unary(method, behavior),
        )

    async def _tenant(self, context: grpc.aio.ServicerContext) -> str:
        tenant = self._tenant_of(context)
        if not tenant:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                "this host confines tenants to their name space: connect with a client certificate naming your tenant",
            )
        refusal = self._remember(context, tenant)  # type: ignore[arg-type]
        if refusal is not None:
            # Without this, a tenant that learned another tenant's client-id could replace its streams.
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, refusal)
        return tenant  # type: ignore[return-value]

    def _guard_unary(self, method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        request_type = _UNARY_REQUESTS.get(method)

        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if client_id_of(context) is None:
                return await behavior(request, context)  # the host answers INVALID_ARGUMENT
            tenant = await self._tenant(context)
            # The host may take unary bodies as raw bytes and parse them itself: judge a parsed copy
            # and hand the original on (an undecodable body is the host's to refuse).
            judged = request
            if isinstance(request, bytes) and request_type is not None:
                try:
                    judged = request_type.FromString(request)
                except DecodeError:
                    return await behavior(request, context)
            refusal = self.check_unary(method, tenant, judged)
            if refusal is not None:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, refusal)
            response = await behavior(request, context)
            if method == "GetSubscriptions":
                raw = isinstance(response, bytes)
                listed = pb.GetSubscriptionsResponse.FromString(response) if raw else response
                prefix = self.prefix(tenant)
                own = [s for s in listed.subscriptions if (_subscription_names(s) or ("", ""))[1].startswith(prefix)]
                filtered = pb.GetSubscriptionsResponse(subscriptions=own)
                response = filtered.SerializeToString() if raw else filtered
            return response

        return guarded

    def _guard_stream(
        self,
        behavior: Callable[..., Any],
        parse: Callable[[bytes], Any],
        check: Callable[[str, Any], str | None],
    ) -> Callable[..., Any]:
        async def prepare(frames: Any, context: grpc.aio.ServicerContext) -> tuple[Any, Any]:
            if client_id_of(context) is None:
                return frames, context  # the host refuses the stream with INVALID_ARGUMENT before reading
            tenant = await self._tenant(context)
            judge = _frame_judge(context, tenant, parse, check)
            # Both ways of reading are judged: the request iterator and context.read().
            return JudgedRequests(frames, judge), JudgedContext(context, judge)

        return guard_stream_handler(behavior, prepare)


def _frame_judge(
    context: grpc.aio.ServicerContext, tenant: str, parse: Callable[[bytes], Any], check: Callable[[str, Any], "str | None"]
) -> Callable[[Any], bool]:
    """Lets a tenant's frames through until the first that leaves its name space."""

    def judge(frame: Any) -> bool:
        try:
            message = parse(frame) if isinstance(frame, bytes) else frame
        except DecodeError:
            return True  # the host refuses undecodable frames itself
        refusal = check(tenant, message)
        if refusal is None:
            return True
        # Ending the request stream ends the host's reader; the call then closes with this
        # status once the host has flushed what it queued.
        context.set_code(grpc.StatusCode.PERMISSION_DENIED)
        context.set_details(refusal)
        return False

    return judge
