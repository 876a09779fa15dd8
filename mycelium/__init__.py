"""Mycelium: distil a math LLM's attention-derived reasoning into small no-CoT students."""

__version__ = "0.1.0"
