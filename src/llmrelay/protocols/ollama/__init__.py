"""Ollama /api/chat: `upstream` (provider direction)."""
