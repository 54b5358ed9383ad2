"""Benchmark messages: a JSON dataclass and a protobuf message, both carrying one text/bytes field.

The field starts with a 4-digit run number and a 10-digit sequence number, then a fixed filler,
so a receiver can check every delivery (right run, seq in range, not seen before, intact body)
without keeping copies of what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from pyruntime._proto.agent_worker_pb2 import Payload as ProtoMsg

JSON_FORMAT = "json"
PROTO_FORMAT = "proto"
FORMATS = (JSON_FORMAT, PROTO_FORMAT)

PROTO_TYPE_NAME = ProtoMsg.DESCRIPTOR.full_name  # "agents.Payload": an existing message with a bytes field
_PREFIX = 14  # 4 digits run + 10 digits seq
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass
class BenchMsg:
    """The JSON payload (AutoGen type name ``BenchMsg``)."""

    text: str


BenchMessage = Union[BenchMsg, ProtoMsg]


@lru_cache(maxsize=8)
def filler(size: int) -> str:
    """The constant body after the prefix, so that the whole field is ``size`` characters."""
    body = max(size - _PREFIX, 0)
    return (_ALPHABET * (body // len(_ALPHABET) + 1))[:body]


@lru_cache(maxsize=8)
def filler_bytes(size: int) -> bytes:
    return filler(size).encode("ascii")


def make_message(fmt: str, run: int, seq: int, size: int) -> BenchMessage:
    """One benchmark message of ``size`` characters/bytes in field ``text`` (JSON) or ``data`` (proto)."""
    prefix = f"{run:04d}{seq:010d}"
    if fmt == JSON_FORMAT:
        return BenchMsg(text=prefix + filler(size))
    if fmt == PROTO_FORMAT:
        return ProtoMsg(data=prefix.encode("ascii") + filler_bytes(size))
    raise ValueError(f"unknown payload format {fmt!r}: use one of {FORMATS}")


def body_of(message: object) -> Union[str, bytes, None]:
    """The checked field of a benchmark message, or None when it is not one (any class named alike)."""
    text = getattr(message, "text", None)
    if isinstance(text, str):
        return text
    data = getattr(message, "data", None)
    if isinstance(data, bytes):
        return data
    return None


def parse(body: Union[str, bytes], size: int) -> tuple[int, int, bool]:
    """(run, seq, body_intact) of a received field; raises ValueError when the prefix is not digits."""
    run = int(body[:4])
    seq = int(body[4:_PREFIX])
    tail = filler(size) if isinstance(body, str) else filler_bytes(size)
    return run, seq, len(body) == max(size, _PREFIX) and body[_PREFIX:] == tail
