"""LLM backends behind one async interface (see ``base.py``)."""

from moud_core.backends.base import (  # noqa: F401
    Backend,
    ChatRequest,
    ChatResponse,
    SamplingParams,
    fold_system_messages,
)
