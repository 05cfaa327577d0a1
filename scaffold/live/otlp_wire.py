"""Just enough of the protobuf wire format to read OTLP/HTTP trace exports
(``ExportTraceServiceRequest``) without a protobuf dependency: `scaffold try` shows
the spans the app sent. Field numbers are opentelemetry-proto's (trace/v1, common/v1);
unknown fields are skipped, and a malformed body raises ``ValueError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 8
STATUS = {0: "unset", 1: "ok", 2: "error"}


@dataclass(frozen=True)
class WireSpan:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status: str
    service: str
    attributes: dict[str, Any]

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(10):
        if i >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7
    raise ValueError("varint too long")


def fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: ints for varint/fixed, bytes for length-delimited."""
    out, i = [], 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        number, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            if i + 8 > len(buf):
                raise ValueError("truncated fixed64")
            value, i = struct.unpack_from("<Q", buf, i)[0], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            if i + size > len(buf):
                raise ValueError("truncated length-delimited field")
            value, i = buf[i:i + size], i + size
        elif wire == 5:
            if i + 4 > len(buf):
                raise ValueError("truncated fixed32")
            value, i = struct.unpack_from("<I", buf, i)[0], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _any_value(buf: bytes, depth: int = 0) -> Any:
    for number, wire, value in fields(buf):
        if number == 1 and wire == 2:
            return value.decode("utf-8", "replace")
        if number == 2 and wire == 0:
            return bool(value)
        if number == 3 and wire == 0:
            return value - (1 << 64) if value >= 1 << 63 else value
        if number == 4 and wire == 1:
            return struct.unpack("<d", struct.pack("<Q", value))[0]
        if number == 5 and wire == 2 and depth < MAX_DEPTH:  # array_value: repeated AnyValue values = 1
            return [_any_value(v, depth + 1) for n, w, v in fields(value) if n == 1 and w == 2]
    return None


def _attributes(items: list[bytes]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for kv in items:
        key, value = "", None
        for number, wire, v in fields(kv):
            if number == 1 and wire == 2:
                key = v.decode("utf-8", "replace")
            elif number == 2 and wire == 2:
                value = _any_value(v)
        attrs[key] = value
    return attrs


def _of(buf: bytes, number: int) -> list[Any]:
    return [v for n, w, v in fields(buf) if n == number]


def decode_traces(body: bytes) -> list[WireSpan]:
    """The spans of an ExportTraceServiceRequest, each with its resource's service.name."""
    spans = []
    for rs in _of(body, 1):
        resource = _of(rs, 1)
        service = str(_attributes(_of(resource[0], 1)).get("service.name", "")) if resource else ""
        for ss in _of(rs, 2):
            for raw in _of(ss, 2):
                f: dict[int, Any] = {}
                attrs: list[bytes] = []
                for number, _wire, value in fields(raw):
                    if number == 9:
                        attrs.append(value)
                    else:
                        f[number] = value
                status = 0
                if 15 in f:
                    status = next((v for n, w, v in fields(f[15]) if n == 3 and w == 0), 0)
                spans.append(WireSpan(
                    trace_id=bytes(f.get(1, b"")).hex(), span_id=bytes(f.get(2, b"")).hex(),
                    parent_span_id=bytes(f.get(4, b"")).hex(), name=bytes(f.get(5, b"")).decode("utf-8", "replace"),
                    kind=int(f.get(6, 0)), start_ns=int(f.get(7, 0)), end_ns=int(f.get(8, 0)),
                    status=STATUS.get(status, str(status)), service=service, attributes=_attributes(attrs)))
    return spans
