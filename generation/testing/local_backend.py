"""A Backend that calls a fake-server responder in-process (no HTTP): for unit tests of the steps
and runner, and to measure orchestration overhead alone."""

from __future__ import annotations

from generation.testing.fake_openai import Reply
from moud_core.backends.base import Backend, ChatRequest, ChatResponse
from moud_core.errors import BackendError


class ResponderBackend(Backend):
    name = "responder"

    def __init__(self, responder, model: str = "scripted-crowdworker"):
        super().__init__(model)
        self.responder = responder
        self.requests: list[ChatRequest] = []

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        body = {"model": self.model, "messages": request.message_dicts(), "seed": request.seed,
                **request.sampling.to_dict()}
        reply = self.responder(body)
        if isinstance(reply, Reply):
            if reply.status != 200:
                raise BackendError(f"scripted status {reply.status}", "server_error")
            reply = reply.content or ""
        prompt_chars = sum(len(c) for _, c in request.messages)
        return ChatResponse(text=reply, prompt_tokens=prompt_chars // 4, completion_tokens=max(1, len(reply) // 4))
