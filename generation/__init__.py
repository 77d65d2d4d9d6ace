"""MOUD generation: personas -> common ground -> dialogues, on pluggable LLM backends."""

__version__ = "0.1.0"
