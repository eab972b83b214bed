"""`python -m llmrelay.server …`: the gateway's command line."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
