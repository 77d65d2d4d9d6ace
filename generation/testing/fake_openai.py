"""A loopback OpenAI-compatible chat server for tests and benchmarks (no GPU, no network).

    with FakeOpenAIServer(responder=lambda body: "Bonjour !") as server:
        backend = make_backend("openai", model="fake", base_url=server.base_url)

``responder(body) -> str | Reply`` gets the parsed JSON request. ``Reply`` (``replies.py``, importable from
here too) can script HTTP errors, delays, malformed JSON and dropped connections. The server binds 127.0.0.1
only, serves at most ``max_requests`` requests and shuts itself down after ``max_seconds``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from aiohttp import web

from generation.testing.replies import Reply, Responder, echo_responder
from moud_core.loopback import LoopbackServer


class FakeOpenAIServer(LoopbackServer):
    name = "fake-openai"

    def __init__(
        self,
        responder: Responder = echo_responder,
        model: str = "fake-model",
        host: str = "127.0.0.1",
        port: int = 0,
        max_requests: int = 1_000_000,
        max_seconds: float = 900.0,
        log_requests: bool = True,
    ):
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
            return web.Response(
                body=reply.raw, status=reply.status, content_type="application/json", headers=reply.headers
            )
        if reply.status != 200:
            return web.json_response(
                {"error": {"message": reply.error or f"scripted error {reply.status}"}},
                status=reply.status,
                headers=reply.headers,
            )
        text = reply.content or ""
        message = {"role": "assistant", "content": text}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        prompt_tokens = max(1, sum(len(m.get("content") or "") for m in body.get("messages", [])) // 4)
        completion_tokens = max(1, (len(text) + len(reply.reasoning or "")) // 4)
        payload = {
            "id": f"chatcmpl-{self.count}",
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
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


def serve_forever(
    responder: Responder = echo_responder,
    port: int = 8011,
    max_seconds: float = 3600,
    model: str = "fake-model",
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Run in the foreground (``python -m generation.testing.fake_openai``) until Ctrl-C, SIGTERM or
    ``max_seconds``; says why it stopped, then calls ``on_stop``."""
    import signal
    import sys

    server = FakeOpenAIServer(responder, model=model, port=port, max_seconds=max_seconds, log_requests=False)
    try:
        server.start()
    except OSError as exc:  # one line and exit 2, within a second (a background `&` start must not hang)
        print(
            f"fake OpenAI server: cannot listen on 127.0.0.1:{port} ({_why(exc)}); "
            "pick another --port (0 = any free port)",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(2) from None
    print(f"fake OpenAI server on {server.base_url}", flush=True)  # (the URL ends the line: scripts read it)
    print(f"model {model!r}; stops after {max_seconds:g} s (--max-seconds) or on Ctrl-C", flush=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    why = f"--max-seconds {max_seconds:g} reached; start it again (or pass a larger --max-seconds) to go on"
    try:
        while server.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        why = "interrupted"
        server.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if on_stop is not None:
            on_stop()
    print(f"fake OpenAI server stopped after {server.count} request(s): {why}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m generation.testing.fake_openai",
        description="A loopback OpenAI-compatible chat server for trying MOUD without a GPU; "
        "binds 127.0.0.1 only. "
        "It echoes the last message, answers --reply, or (--crowdworker) answers MOUD's prompts with "
        "hand-written native text, optionally with the mistakes real models make (--inject).",
        epilog="examples:\n"
        "  python -m generation.testing.fake_openai --crowdworker --port 8011 --model demo\n"
        "  moud generate --languages fr,zh --dialogues 20 --out runs/demo --model demo \\\n"
        "      --base-url http://127.0.0.1:8011/v1\n\n"
        "  # the same, with about 20% of turns corrupted as small real models do; the inline gates\n"
        "  # reject them (see metadata.rejected_outputs), and --no-inline-gates shows what gets through:\n"
        "  python -m generation.testing.fake_openai --crowdworker --inject realistic "
        "--port 8011 --model demo\n"
        "  python -m generation.testing.fake_openai --crowdworker --inject think=0.2,label=0.1 "
        "--inject-record injected.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8011,
        help="port (default %(default)s; 0 = any free port; printed at start)",
    )
    parser.add_argument("--model", default="fake-model", help="model id listed by /v1/models")
    parser.add_argument("--reply", default=None, help="fixed answer text (default: echo the last message)")
    parser.add_argument(
        "--crowdworker",
        action="store_true",
        help="answer MOUD's prompts with the scripted crowdworker, which writes "
        f"{', '.join(_crowdworker_languages())} and refuses other languages (HTTP 400)",
    )
    parser.add_argument(
        "--inject",
        default=None,
        metavar="SPEC",
        help="with --crowdworker: corrupt answers the way real models do. 'realistic' (about 20%% "
        "of turns) or KIND=RATE,... with KIND one of english_turn, gloss, label, think, "
        "boilerplate, english_persona, truncation, near_repeat (see generation/testing/slips.py)",
    )
    parser.add_argument("--inject-seed", type=int, default=0, help="seed of the injection draws (default 0)")
    parser.add_argument(
        "--inject-record",
        default=None,
        metavar="FILE",
        help="write what was injected (JSON lines, with the text that marks each slip) when the server stops",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=3600,
        help="shut down after this many seconds (default %(default)g; it says so when it stops)",
    )
    args = parser.parse_args(argv)
    if args.max_seconds <= 0:
        parser.error("--max-seconds: expected a positive number of seconds")
    if (args.inject or args.inject_record) and not args.crowdworker:
        parser.error("--inject and --inject-record need --crowdworker")
    responder = echo_responder if args.reply is None else (lambda body, text=args.reply: text)
    on_stop = None
    if args.crowdworker:
        from generation.testing.crowdworker import ScriptedCrowdworker

        responder = ScriptedCrowdworker()
        if args.inject:
            from generation.testing.slips import SlipInjector, parse_rates

            try:
                responder = SlipInjector(responder, parse_rates(args.inject), seed=args.inject_seed)
            except ValueError as exc:
                parser.error(f"--inject: {exc}")
        if args.inject_record:
            record = args.inject_record
            on_stop = (lambda: responder.dump(record)) if args.inject else (lambda: open(record, "w").close())
    serve_forever(responder, port=args.port, max_seconds=args.max_seconds, model=args.model, on_stop=on_stop)
    return 0


def _why(exc: OSError) -> str:
    import errno

    if exc.errno == errno.EADDRINUSE:
        return "the port is already in use, e.g. by another server"
    return exc.strerror or str(exc)


def _crowdworker_languages() -> list[str]:
    from generation.testing.crowdworker import LANGUAGES

    return list(LANGUAGES)


if __name__ == "__main__":
    raise SystemExit(main())
