"""OpenAI Chat Completions: `upstream` (provider direction)."""
