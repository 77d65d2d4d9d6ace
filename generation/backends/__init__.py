"""LLM backends behind one async interface (see ``base.py``)."""

from generation.backends.base import (  # noqa: F401
    Backend,
    ChatRequest,
    ChatResponse,
    SamplingParams,
    fold_system_messages,
)
