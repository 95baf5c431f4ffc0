"""A loopback OpenAI Batch API for the `openai-batch` provider's tests.

A real HTTP server on 127.0.0.1 with the files and batches endpoints as OpenAI documents them:
`POST /v1/files` (multipart, `purpose=batch`), `GET /v1/files/{id}` and `/content`,
`POST /v1/batches` (`input_file_id`, `endpoint`, `completion_window: 24h`), `GET /v1/batches/{id}`,
`GET /v1/batches` (newest first, `after` and `limit`), `POST /v1/batches/{id}/cancel`, and
`GET /stats`. A batch moves `validating -> in_progress -> finalizing -> completed`, one step every
`polls_per_step` reads of it (none while `hold` is set, which keeps it `in_progress`). When it
completes, every request line is answered by the responder (as tests/support/llm_server.py's chat endpoint
answers) into the output file, and injected per-request 500s go to the error file. Faults:
`endings` makes the next batches end `failed` (validation errors, no files), `expired` (the first
half answered, the rest `batch_expired` in the error file) or `cancelled` (nothing answered);
`drop_lines` leaves lines out of each output file; `unknown_lines` adds lines for ids no input held.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.llm_server import InThread, LoopbackServer, Responder, hash_responder, _completion

STEPS = ("validating", "in_progress", "finalizing", "completed")
ENDPOINT = "/v1/chat/completions"
EXPIRED_ERROR = {"code": "batch_expired",
                 "message": "This request could not be executed before the completion window expired."}


@dataclass
class BatchSettings:
    """What the server does to each batch; read as batches move, so a test may change it."""

    polls_per_step: int = 1
    hold: bool = False                                  # batches stay in_progress while set
    endings: list[str] = field(default_factory=list)    # how the next batches end, in creation order
    error_rate: float = 0.0                             # share of request lines answered with a 500
    seed: int = 0
    drop_lines: int = 0                                 # answered lines left out of each output file
    unknown_lines: int = 0                              # extra output lines naming ids no input file held

    def fails(self, custom_id: str, attempt: int) -> bool:
        digest = hashlib.sha256(f"{self.seed}:{custom_id}:{attempt}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.error_rate


@dataclass
class _Batch:
    obj: dict[str, Any]
    lines: list[dict[str, Any]]
    ending: str
    reads: int = 0


class _State:
    """Files and batches, and what the tests count: creations, polls and submissions per call."""

    def __init__(self, settings: BatchSettings, responder: Responder) -> None:
        self.settings = settings
        self.responder = responder
        self.lock = threading.Lock()
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.batches: dict[str, _Batch] = {}
        self.submitted: Counter[str] = Counter()  # custom id -> batches it was submitted in
        self.polls: Counter[str] = Counter()
        self.requests = 0

    def add_file(self, name: str, purpose: str, data: bytes) -> dict[str, Any]:
        with self.lock:
            file_id = f"file-{len(self.files) + 1:06d}"
            obj = {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                   "filename": name, "purpose": purpose}
            self.files[file_id] = (obj, data)
            return obj

    def create_batch(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            file_id = body.get("input_file_id")
            if file_id not in self.files:
                return 404, _error(f"No such File object: {file_id}", "invalid_request_error")
            if body.get("endpoint") != ENDPOINT or body.get("completion_window") != "24h":
                return 400, _error("endpoint must be /v1/chat/completions and completion_window 24h",
                                   "invalid_request_error")
            batch_id = f"batch_{len(self.batches) + 1:06d}"
            now = int(time.time())
            lines = [json.loads(raw) for raw in self.files[file_id][1].splitlines() if raw.strip()]
            obj = {"id": batch_id, "object": "batch", "endpoint": ENDPOINT, "errors": None,
                   "input_file_id": file_id, "completion_window": "24h", "status": "validating",
                   "output_file_id": None, "error_file_id": None, "created_at": now, "expires_at": now + 86400,
                   "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                   "metadata": body.get("metadata")}
            ending = self.settings.endings.pop(0) if self.settings.endings else "completed"
            self.batches[batch_id] = _Batch(obj, lines, ending)
            self.submitted.update(line.get("custom_id") for line in lines)
            return 200, obj

    def read_batch(self, batch_id: str) -> dict[str, Any] | None:
        with self.lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return None
            self.polls[batch_id] += 1
            batch.reads += 1
            if batch.obj["status"] in STEPS[:-1] and batch.reads % self.settings.polls_per_step == 0:
                self._advance(batch)
            return dict(batch.obj)

    def cancel(self, batch_id: str) -> dict[str, Any] | None:
        with self.lock:
            batch = self.batches.get(batch_id)
            if batch is not None and batch.obj["status"] not in ("completed", "failed", "expired", "cancelled"):
                batch.ending = "cancelled"
                self._end(batch)
            return None if batch is None else dict(batch.obj)

    def _advance(self, batch: _Batch) -> None:
        status = batch.obj["status"]
        if status == "in_progress" and self.settings.hold:
            return
        if status == "validating" and batch.ending == "failed":
            batch.obj.update(status="failed", failed_at=int(time.time()), errors={"object": "list", "data": [
                {"code": "invalid_request", "message": "injected validation failure", "line": 1, "param": None}]})
            return
        next_status = STEPS[STEPS.index(status) + 1]
        if next_status == "completed" or (next_status == "finalizing" and batch.ending != "completed"):
            self._end(batch)
        else:
            batch.obj["status"] = next_status

    def _end(self, batch: _Batch) -> None:
        """Write the output and error files of a batch that ends as `batch.ending`."""
        settings = self.settings
        answered = {"completed": len(batch.lines), "expired": len(batch.lines) // 2}.get(batch.ending, 0)
        output, errors = [], []
        for n, line in enumerate(batch.lines, 1):
            custom_id = line.get("custom_id")
            request_id = f"req_{batch.obj['id']}_{n}"
            if n > answered:
                if batch.ending == "expired":
                    errors.append({"id": f"batch_req_{n}", "custom_id": custom_id, "response": None,
                                   "error": EXPIRED_ERROR})
            elif settings.fails(custom_id, self.submitted[custom_id]):
                body = _error("injected 500", "server_error")
                errors.append(_line(n, custom_id, 500, request_id, body))
            else:
                body = _completion(line["body"], self.responder(line["body"]), request_id)
                output.append(_line(n, custom_id, 200, request_id, body))
        output = output[settings.drop_lines:]
        counts = {"total": len(batch.lines), "completed": len(output), "failed": len(errors)}
        output += [_line(0, f"unknown-{i}", 200, "req_unknown", _completion({"messages": []}, "stray", "x"))
                   for i in range(settings.unknown_lines)]
        now = int(time.time())
        batch.obj.update(status=batch.ending, request_counts=counts)
        batch.obj[f"{batch.ending}_at"] = now
        for kind, rows in (("output_file_id", output), ("error_file_id", errors)):
            if rows:
                data = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
                file_id = f"file-{len(self.files) + 1:06d}"
                self.files[file_id] = ({"id": file_id, "object": "file", "bytes": len(data), "created_at": now,
                                        "filename": f"{batch.obj['id']}_{kind}.jsonl", "purpose": "batch_output"}, data)
                batch.obj[kind] = file_id

    def listing(self, after: str | None, limit: int) -> dict[str, Any]:
        with self.lock:
            newest_first = [b.obj for b in reversed(self.batches.values())]
        if after is not None:
            ids = [obj["id"] for obj in newest_first]
            newest_first = newest_first[ids.index(after) + 1:] if after in ids else []
        page = newest_first[:limit]
        return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None, "has_more": len(newest_first) > limit}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"files": len(self.files), "batches": {k: b.obj["status"] for k, b in self.batches.items()},
                    "submitted": dict(self.submitted), "polls": dict(self.polls), "requests": self.requests}


def _line(n: int, custom_id: str, status: int, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"batch_req_{n}", "custom_id": custom_id,
            "response": {"status_code": status, "request_id": request_id, "body": body}, "error": None}


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state
        self._count()
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if parts == ["stats"]:
            self._send(200, state.snapshot())
        elif parts == ["v1", "batches"]:
            query = parse_qs(url.query)
            self._send(200, state.listing(query.get("after", [None])[0], int(query.get("limit", ["20"])[0])))
        elif parts[:2] == ["v1", "batches"] and len(parts) == 3:
            self._send_found(state.read_batch(parts[2]), parts[2])
        elif parts[:2] == ["v1", "files"] and len(parts) in (3, 4):
            with state.lock:
                found = state.files.get(parts[2])
            if found is None:
                self._send_found(None, parts[2])
            elif len(parts) == 4 and parts[3] == "content":
                self._send_raw(200, found[1], "application/octet-stream")
            else:
                self._send(200, found[0])
        else:
            self._send(404, _error(f"no route GET {self.path}", "not_found"))

    def do_POST(self) -> None:
        state = self.server.state
        self._count()
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = urlsplit(self.path).path.strip("/").split("/")
        if parts == ["v1", "files"]:
            fields = _multipart(self.headers.get("Content-Type", ""), data)
            if fields.get("purpose", (None, b""))[1] != b"batch" or "file" not in fields:
                self._send(400, _error("expected multipart fields purpose=batch and file", "invalid_request_error"))
            else:
                self._send(200, state.add_file(fields["file"][0] or "upload.jsonl", "batch", fields["file"][1]))
        elif parts == ["v1", "batches"]:
            self._send(*state.create_batch(json.loads(data or b"{}")))
        elif parts[:2] == ["v1", "batches"] and parts[3:] == ["cancel"]:
            self._send_found(state.cancel(parts[2]), parts[2])
        else:
            self._send(404, _error(f"no route POST {self.path}", "not_found"))

    def _count(self) -> None:
        with self.server.state.lock:
            self.server.state.requests += 1

    def _send_found(self, obj: dict[str, Any] | None, name: str) -> None:
        if obj is None:
            self._send(404, _error(f"No such object: {name}", "invalid_request_error"))
        else:
            self._send(200, obj)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json")

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_api_{self.server.state.requests:06d}")
        self.end_headers()
        self.wfile.write(data)


def _multipart(content_type: str, data: bytes) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, bytes) of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


class _Server(LoopbackServer):
    def __init__(self, state: _State) -> None:
        super().__init__(0, _Handler)
        self.state = state


class BatchServer(InThread):
    """The Batch API server in a background thread of this process; a context manager."""

    _server: _Server

    def __init__(self, settings: BatchSettings | None = None, responder: Responder = hash_responder) -> None:
        super().__init__(_Server(_State(settings or BatchSettings(), responder)), "batch-server")

    @property
    def settings(self) -> BatchSettings:
        return self._server.state.settings

    def stats(self) -> dict[str, Any]:
        return self._server.state.snapshot()
