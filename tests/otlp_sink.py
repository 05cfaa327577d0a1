"""A small OTLP/HTTP receiver for tests: POST /v1/traces (protobuf), decoded with
``opentelemetry-proto``; on 127.0.0.1, started and stopped by the test."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

WAIT_S = 20.0
POLL_S = 0.05
MAX_BODY = 4 * 1024 * 1024


def any_value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    status_code: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body: Content-Length or chunked (node's exporter streams), gzip or not."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        for _ in range(10_000):  # bounded
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        body = b"".join(chunks)[:MAX_BODY]
    else:
        body = handler.rfile.read(min(int(handler.headers.get("Content-Length") or 0), MAX_BODY))
    if handler.headers.get("Content-Encoding", "").lower() == "gzip":
        body = gzip.decompress(body)
    return body


class Sink:
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.posts: list[str] = []  # request paths, in order
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = read_body(self)
                sink._receive(self.path, self.headers.get("Content-Type", ""), body)
                out = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _receive(self, path: str, content_type: str, body: bytes) -> None:
        with self._lock:
            self.posts.append(path)
        if path != "/v1/traces" or "protobuf" not in content_type:
            return
        req = ExportTraceServiceRequest.FromString(body)
        spans = []
        for rs in req.resource_spans:
            resource = {kv.key: any_value(kv.value) for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    spans.append(Span(
                        name=s.name, trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(), kind=s.kind, status_code=s.status.code,
                        start_ns=s.start_time_unix_nano, end_ns=s.end_time_unix_nano,
                        attributes={kv.key: any_value(kv.value) for kv in s.attributes}, resource=resource,
                        events=[(e.name, {kv.key: any_value(kv.value) for kv in e.attributes}) for e in s.events]))
        with self._lock:
            self.spans.extend(spans)

    def wait_for(self, pred: Callable[[list[Span]], bool], timeout: float = WAIT_S) -> list[Span]:
        """The spans received once ``pred`` holds for them; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / POLL_S) + 1):
            with self._lock:
                spans = list(self.spans)
            if pred(spans):
                return spans
            if time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
        raise AssertionError(f"the sink did not get the expected spans within {timeout}s; got {spans}")


@contextlib.contextmanager
def otlp_sink() -> Iterator[Sink]:
    sink = Sink()
    thread = threading.Thread(target=sink.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.server.shutdown()
        sink.server.server_close()
        thread.join(10)


def exporter_env(sink: Sink) -> dict[str, str]:
    """The standard OpenTelemetry variables that point an app at the sink, exporting fast."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.0",
            "OTEL_SERVICE_NAME": "traced-svc",
            "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=tracing-team,service.version=9.9.9",
            "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
