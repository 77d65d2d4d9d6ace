"""A Backend that calls a fake-server responder in-process (no HTTP): for unit tests of the steps
and runner, and to measure orchestration overhead alone."""

from __future__ import annotations

from generation.testing.replies import Reply
from moud_core.backends.base import Backend, ChatRequest, ChatResponse, reasoning_token_share
from moud_core.errors import BackendError


class ResponderBackend(Backend):
    name = "responder"

    def __init__(self, responder, model: str = "scripted-crowdworker"):
        super().__init__(model)
        self.responder = responder
        self.requests: list[ChatRequest] = []

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        body = {
            "model": self.model,
            "messages": request.message_dicts(),
            "seed": request.seed,
            **request.sampling.to_dict(),
        }
        reply = self.responder(body)
        if not isinstance(reply, Reply):
            reply = Reply(content=reply)
        if reply.status != 200:
            raise BackendError(
                reply.error or f"scripted status {reply.status}",
                "server_error" if reply.status >= 500 else "client_error",
            )
        text, reasoning = reply.content or "", reply.reasoning or ""
        completion = max(1, (len(text) + len(reasoning)) // 4)
        return ChatResponse(
            text=text,
            prompt_tokens=sum(len(c) for _, c in request.messages) // 4,
            completion_tokens=completion,
            finish_reason=reply.finish_reason,
            reasoning_tokens=reasoning_token_share(completion, len(reasoning), len(text)),
        )
