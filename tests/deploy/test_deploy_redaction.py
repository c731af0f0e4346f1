"""A secret echoed back in an Atlas error body never reaches the user: message, JSON or stderr."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from invoke import Config, Context, Exit

import tasks

PASSWORD = "kafka-pw-9d2c4e"
KAFKA = {"name": "kafka", "type": "Kafka", "bootstrapServers": "b:9092",
         "authentication": {"mechanism": "PLAIN", "username": "svc", "password": "${KAFKA_PASSWORD}"}}


class EchoingAtlas:
    """A proxy in front of the emulator that refuses connection creates with an error whose body
    echoes the request back, as some APIs do ("invalid value ..."); everything else is forwarded."""

    def __init__(self, upstream: str):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._forward()

            do_DELETE = do_PATCH = do_GET

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.endswith("/connections") and b"password" in body:
                    sent = json.loads(body)
                    echo = {"error": 400, "errorCode": "INVALID_ATTRIBUTE", "reason": "Bad Request",
                            "detail": f"Invalid connection {json.dumps(sent)}",
                            "parameters": [sent["authentication"]["password"]]}
                    return self._answer(400, json.dumps(echo).encode(), "application/json")
                self._forward(body)

            def _forward(self, body=None):
                if body is None:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                resp = requests.request(self.command, upstream + self.path, data=body or None, headers=headers,
                                        timeout=10)
                self._answer(resp.status_code, resp.content, resp.headers.get("Content-Type", ""),
                             resp.headers.get("WWW-Authenticate"))

            def _answer(self, status, payload, content_type, challenge=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if challenge:
                    self.send_header("WWW-Authenticate", challenge)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_password_echoed_in_an_api_error_body_is_never_printed(project, emulator, monkeypatch, capsys):
    proxy = EchoingAtlas(emulator.url)
    try:
        config = project.root / "environments" / "test" / "config.env"
        config.write_text(config.read_text().replace(emulator.url, proxy.url))
        project.write("connections", KAFKA)
        for key, value in {**project.environ, "KAFKA_PASSWORD": PASSWORD}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(tasks, "ROOT", project.root)
        ctx = Context(Config(overrides={"sp": {"env": "test"}}))
        seen = []
        for fmt in ("text", "json"):
            with pytest.raises(Exit) as failed:
                tasks.deploy(ctx, yes=True, format=fmt)
            captured = capsys.readouterr()
            seen += [str(failed.value.message), captured.out, captured.err]
            assert failed.value.code == 1
    finally:
        proxy.close()
    assert any("Invalid connection" in text for text in seen)  # the echoed body did reach the message
    assert any("(secret)" in text for text in seen)
    assert not [text[:300] for text in seen if PASSWORD in text]
