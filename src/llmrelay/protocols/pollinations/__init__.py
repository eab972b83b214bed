"""Pollinations image API: request URLs."""
