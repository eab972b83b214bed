"""Anthropic Messages: `upstream_request` and `upstream_response` (provider direction)."""
