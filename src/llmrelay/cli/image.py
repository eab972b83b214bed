"""`llmrelay image`: make images for a prompt and save them, printing the saved paths."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "image",
        help="make images for a prompt and save them (with no key: Pollinations)",
        description="Make images for PROMPT and write them into DIR, printing each file's "
        "path. The provider is --provider, else one that lists --model among its image "
        "models and is configured; with no --model, the configured image providers in "
        "turn, Pollinations (no key) last. A parameter the provider "
        "cannot honour is refused, naming it.",
    )
    p.add_argument("prompt", help="what the image shows")
    p.add_argument("-o", "--output", default=".", metavar="DIR",
                   help="directory to write the images into (default: .)")  # fmt: skip
    p.add_argument("-p", "--provider", help="image provider (OpenAIImages, GeminiImages, …)")
    p.add_argument("-m", "--model", default="", help="image model (gpt-image-1, flux, …)")
    p.add_argument("-n", type=int, help="how many images")
    p.add_argument("--size", help="WIDTHxHEIGHT, e.g. 1024x1024")
    p.add_argument("--aspect-ratio", help="e.g. 16:9")
    p.add_argument("--seed", type=int, help="seed, where the provider takes one")
    p.add_argument("--negative-prompt", help="what the image must not show")
    p.add_argument("--image", metavar="PATH", help="edit this image instead of making one")


def run(args: argparse.Namespace) -> int:
    from ..client.images import generate_images
    from ..providers.asyncio import run_sync
    from .settings import apply_keys

    apply_keys()
    image = None
    if args.image:
        with open(args.image, "rb") as handle:
            image = handle.read()
    made = generate_images(
        args.prompt, model=args.model, provider=args.provider, n=args.n, size=args.size,
        save_to=args.output, image=image, aspect_ratio=args.aspect_ratio, seed=args.seed,
        negative_prompt=args.negative_prompt,
    )  # fmt: skip
    response = run_sync(made)
    for item in response.data:
        print(item.path)
    return 0
