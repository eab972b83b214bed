"""`llmrelay image` as a subprocess against the fake OpenAI Images API."""

from __future__ import annotations

import pathlib

from support.cli_env import clean_env, run_cli
from support.fake_images import PNG, FakeImages

KEY = "sk-cli-images-0123"


def test_image_writes_files_into_the_directory_and_prints_their_paths(
    tmp_path: pathlib.Path,
) -> None:
    out = tmp_path / "out"
    with FakeImages.in_thread(api_key=KEY) as fake:
        env = clean_env(tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=fake.base_url)
        result = run_cli("image", "a lighthouse", "-p", "OpenAIImages", "-m", "gpt-image-1",
                         "-n", "2", "-o", str(out), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    paths = [pathlib.Path(line) for line in result.stdout.split()]
    assert len(paths) == 2
    for path in paths:
        assert path.parent == out
        assert path.suffix == ".png"
        assert path.read_bytes() == PNG


def test_a_parameter_the_provider_cannot_honour_is_a_one_line_usage_error(
    tmp_path: pathlib.Path,
) -> None:
    with FakeImages.in_thread(api_key=KEY) as fake:
        env = clean_env(tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=fake.base_url)
        result = run_cli("image", "a cat", "-p", "OpenAIImages", "--negative-prompt", "dogs",
                         "-o", str(tmp_path), env=env)  # fmt: skip
    assert result.returncode == 2
    assert "negative_prompt" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not list(tmp_path.glob("image-*"))
