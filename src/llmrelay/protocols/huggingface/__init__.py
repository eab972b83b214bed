"""Hugging Face inference: text-to-image request shapes."""
