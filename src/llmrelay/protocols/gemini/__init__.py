"""Gemini generateContent: `upstream_request` and `upstream_response` (provider direction)."""
