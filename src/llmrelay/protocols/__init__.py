"""Wire formats, pure and I/O-free, one folder per API family, both directions.

- ``upstream*`` modules: the provider direction — our messages and parameters into the API's
  request, the API's answers and stream events into llmrelay chunks (`Provider/` uses them).
- ``gateway*`` modules: the gateway direction — the API's requests into our messages and
  parameters, our chunks into the API's answers and stream events (`server/` uses them).
"""
