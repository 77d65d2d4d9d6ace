"""MOUD generation: personas -> common ground -> dialogues, on the core's pluggable LLM backends."""
