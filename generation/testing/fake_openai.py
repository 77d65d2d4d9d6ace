"""A loopback OpenAI-compatible chat server for tests and benchmarks (no GPU, no network).

    with FakeOpenAIServer(responder=lambda body: "Bonjour !") as server:
        backend = make_backend("openai", model="fake", base_url=server.base_url)

``responder(body) -> str | Reply`` gets the parsed JSON request. ``Reply`` can script HTTP errors,
delays, malformed JSON and dropped connections. The server binds 127.0.0.1 only, serves at most
``max_requests`` requests and shuts itself down after ``max_seconds``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from moud_core.loopback import LoopbackServer


@dataclass
class Reply:
    content: str | None = None   # assistant text (ignored when raw/status set)
    status: int = 200            # HTTP status; non-200 sends an OpenAI-style error body
    delay: float = 0.0           # seconds to wait before answering
    raw: bytes | None = None     # exact response body (e.g. truncated JSON)
    drop: bool = False           # close the connection without answering
    finish_reason: str = "stop"
    headers: dict | None = None


Responder = Callable[[dict], "str | Reply"]


def echo_responder(body: dict) -> str:
    return body["messages"][-1]["content"] if body.get("messages") else ""


class FakeOpenAIServer(LoopbackServer):
    name = "fake-openai"

    def __init__(self, responder: Responder = echo_responder, model: str = "fake-model", host: str = "127.0.0.1",
                 port: int = 0, max_requests: int = 1_000_000, max_seconds: float = 900.0, log_requests: bool = True):
        super().__init__(host, port, max_seconds)
        self.responder, self.model = responder, model
        self.max_requests, self.log_requests = max_requests, log_requests
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.count = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- handlers ---------------------------------------------------------------------------------
    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.count += 1
        if self.count > self.max_requests:
            return web.json_response({"error": {"message": "request budget exhausted"}}, status=503)
        body = await request.json()
        if self.log_requests:
            self.requests.append(body)
            self.headers.append(dict(request.headers))
        reply = self.responder(body)
        if isinstance(reply, str):
            reply = Reply(content=reply)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.drop:
            request.transport.close()
            return web.Response(status=200)
        if reply.raw is not None:
            return web.Response(body=reply.raw, status=reply.status, content_type="application/json",
                                headers=reply.headers)
        if reply.status != 200:
            return web.json_response({"error": {"message": f"scripted error {reply.status}"}},
                                     status=reply.status, headers=reply.headers)
        text = reply.content or ""
        prompt_chars = sum(len(m.get("content") or "") for m in body.get("messages", []))
        payload = {
            "id": f"chatcmpl-{self.count}", "object": "chat.completion", "created": 0, "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": reply.finish_reason}],
            "usage": {"prompt_tokens": max(1, prompt_chars // 4), "completion_tokens": max(1, len(text) // 4),
                      "total_tokens": max(1, prompt_chars // 4) + max(1, len(text) // 4)},
        }
        return web.json_response(payload, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    # -- routes ---------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)


def serve_forever(responder: Responder = echo_responder, port: int = 8000, max_seconds: float = 3600,
                  model: str = "fake-model") -> None:
    """Run in the foreground (``python -m generation.testing.fake_openai``) until Ctrl-C or max_seconds."""
    server = FakeOpenAIServer(responder, model=model, port=port, max_seconds=max_seconds,
                              log_requests=False).start()
    print(f"fake OpenAI server on {server.base_url}", flush=True)
    try:
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m generation.testing.fake_openai",
        description="A loopback OpenAI-compatible chat server that echoes the last message (or answers "
                    "--reply). For trying the pipeline without a GPU; binds 127.0.0.1 only.",
        epilog="example:\n  python -m generation.testing.fake_openai --port 8000 --model fake-model\n"
               "  moud generate ... --backend openai --base-url http://127.0.0.1:8000/v1 --model fake-model",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000, help="port (0 = any free port; printed at start)")
    parser.add_argument("--model", default="fake-model", help="model id listed by /v1/models")
    parser.add_argument("--reply", default=None, help="fixed answer text (default: echo the last message)")
    parser.add_argument("--crowdworker", action="store_true",
                        help="answer MOUD's prompts with the scripted multilingual crowdworker (fr, zh, ja, ar): "
                             "try the whole pipeline without a GPU")
    parser.add_argument("--max-seconds", type=float, default=3600, help="shut down after this long")
    args = parser.parse_args(argv)
    responder = echo_responder if args.reply is None else (lambda body, text=args.reply: text)
    if args.crowdworker:
        from generation.testing.crowdworker import ScriptedCrowdworker

        responder = ScriptedCrowdworker()
    serve_forever(responder, port=args.port, max_seconds=args.max_seconds, model=args.model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
