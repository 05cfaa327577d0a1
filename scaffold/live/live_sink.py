"""The local notification sink for `scaffold try`: records what Alertmanager sends.

Paths are ``/<integration>/<receiver>`` (webhook, pagerduty, slack), set by
scaffold.live_config.alertmanager_config. It answers each integration the
way the real API does on success, so Alertmanager does not retry.

``/v1/traces`` is an OTLP/HTTP receiver (protobuf, as every skeleton's SDK
exports): the app's spans are kept beside the notifications.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import otlp_wire

MAX_BODY = 4 * 1024 * 1024
MAX_RECORDS = 10_000  # bounded memory, whatever Alertmanager sends
MAX_SPANS = 10_000
MAX_CHUNKS = 10_000
TRACES_PATH = "/v1/traces"


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    """Content-Length or chunked (node's exporter streams), bounded; gunzipped when gzip."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks, total = [], 0
        for _ in range(MAX_CHUNKS):
            size = int(handler.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
            if size == 0 or total + size > MAX_BODY:
                break
            chunks.append(handler.rfile.read(size))
            total += size
            handler.rfile.readline(8)
        raw = b"".join(chunks)
    else:
        raw = handler.rfile.read(min(int(handler.headers.get("Content-Length") or 0), MAX_BODY))
    if handler.headers.get("Content-Encoding", "").lower() == "gzip":
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            raw = fh.read(MAX_BODY)
    return raw
_REPLIES = {
    "pagerduty": (202, b'{"status":"success","message":"Event processed"}', "application/json"),
    "slack": (200, b"ok", "text/plain"),
    "webhook": (200, b"{}", "application/json"),
}


@dataclass
class Notification:
    integration: str
    receiver: str
    at: float  # seconds since the sink started
    payload: Any

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts with labels/annotations: only webhook payloads carry them whole."""
        if self.integration == "webhook" and isinstance(self.payload, dict):
            return list(self.payload.get("alerts") or [])
        return []


@dataclass
class Sink:
    host: str = "127.0.0.1"
    records: list[Notification] = field(default_factory=list)
    spans: list[otlp_wire.WireSpan] = field(default_factory=list)
    bad_exports: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _t0: float = 0.0

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = _body(self)
                if self.path.split("?", 1)[0] == TRACES_PATH:
                    self._traces(raw)
                    return
                parts = self.path.strip("/").split("/", 1)
                kind = parts[0] if parts[0] in _REPLIES else "webhook"
                receiver = parts[1] if len(parts) > 1 else ""
                try:
                    payload: Any = json.loads(raw or b"null")
                except ValueError:
                    payload = raw.decode("utf-8", "replace")
                sink._record(Notification(kind, receiver, time.monotonic() - sink._t0, payload))
                code, body, ctype = _REPLIES[kind]
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _traces(self, raw: bytes) -> None:
                try:
                    sink._record_spans(otlp_wire.decode_traces(raw))
                    code = 200  # an empty ExportTraceServiceResponse: everything accepted
                except ValueError:
                    sink.bad_exports += 1
                    code = 400
                self.send_response(code)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the sink's records are the log."""

        self._t0 = time.monotonic()
        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="scaffold-try-sink", daemon=True)
        self._thread.start()
        return self

    def _record(self, note: Notification) -> None:
        with self._lock:
            if len(self.records) < MAX_RECORDS:
                self.records.append(note)

    def _record_spans(self, spans: list[otlp_wire.WireSpan]) -> None:
        with self._lock:
            self.spans.extend(spans[: max(0, MAX_SPANS - len(self.spans))])

    def span_snapshot(self) -> list[otlp_wire.WireSpan]:
        with self._lock:
            return list(self.spans)

    def snapshot(self) -> list[Notification]:
        with self._lock:
            return list(self.records)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(5)
            self._server = None
