"""OpenAI-compatible services and local servers as data rows, each exposed as a provider class.

A row differs from another only in data — base URL, key variable, default model, auth header —
so it is a row here, not a class written by hand. `llmrelay.Provider.<Name>` is the class made
from the row (a subclass of `OpenaiTemplate`), usable exactly like any g4f-style provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from .openai_compatible import OpenaiTemplate

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    url: str
    api_base: str | None
    api_key_env: str | None
    default_model: str | None
    needs_auth: bool = True
    #: Environment variable overriding the base URL (local servers, Azure's resource URL).
    api_base_env: str | None = None
    api_base_suffix: str = ""
    auth_header: str = "Authorization"
    label: str | None = None
    #: llmrelay's model names (`llmrelay.models`) → this service's ids, where they differ.
    aliases: tuple[tuple[str, str], ...] = ()
    #: Takes `web_search_options` (web_search=True).
    web_search: bool = False
    #: A server in the operator's network: llmrelay fetches media URLs for it (guarded).
    local: bool = False
    #: Has OpenAI's Responses API at `/responses`.
    responses_api: bool = False
    #: Models that take images as input, and models that make images (its `/images` endpoint).
    vision_models: tuple[str, ...] = ()
    image_models: tuple[str, ...] = ()


PRESETS: tuple[Preset, ...] = (
    Preset("OpenAI", "https://platform.openai.com", "https://api.openai.com/v1",
           "OPENAI_API_KEY", "gpt-4o-mini", api_base_env="OPENAI_BASE_URL", web_search=True,
           responses_api=True,
           vision_models=("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
                          "gpt-5", "gpt-5-mini", "gpt-5-nano", "o3", "o4-mini"),
           image_models=("gpt-image-1", "gpt-image-1-mini", "dall-e-3", "dall-e-2")),
    Preset("AzureOpenAI", "https://learn.microsoft.com/azure/ai-foundry/openai/", None,
           "AZURE_OPENAI_API_KEY", None, api_base_env="AZURE_OPENAI_ENDPOINT",
           api_base_suffix="/openai/v1", auth_header="api-key", label="Azure OpenAI",
           responses_api=True),
    Preset("Groq", "https://console.groq.com", "https://api.groq.com/openai/v1",
           "GROQ_API_KEY", "llama-3.3-70b-versatile",
           aliases=(("llama-3.3-70b", "llama-3.3-70b-versatile"),
                    ("llama-3.1-8b", "llama-3.1-8b-instant")),
           vision_models=("meta-llama/llama-4-scout-17b-16e-instruct",
                          "meta-llama/llama-4-maverick-17b-128e-instruct")),
    Preset("Mistral", "https://console.mistral.ai", "https://api.mistral.ai/v1",
           "MISTRAL_API_KEY", "mistral-small-latest",
           aliases=(("mistral-small", "mistral-small-latest"),),
           vision_models=("mistral-small-latest", "mistral-medium-latest", "pixtral-large-latest",
                          "pixtral-12b-2409")),
    Preset("DeepSeek", "https://platform.deepseek.com", "https://api.deepseek.com/v1",
           "DEEPSEEK_API_KEY", "deepseek-chat",
           aliases=(("deepseek-v3", "deepseek-chat"), ("deepseek-r1", "deepseek-reasoner"))),
    Preset("OpenRouter", "https://openrouter.ai", "https://openrouter.ai/api/v1",
           "OPENROUTER_API_KEY", "openai/gpt-4o-mini",
           aliases=(("gpt-4o-mini", "openai/gpt-4o-mini"), ("gpt-4o", "openai/gpt-4o"),
                    ("gpt-4.1-mini", "openai/gpt-4.1-mini"), ("o4-mini", "openai/o4-mini"),
                    ("llama-3.3-70b", "meta-llama/llama-3.3-70b-instruct"),
                    ("llama-3.1-8b", "meta-llama/llama-3.1-8b-instruct"),
                    ("deepseek-v3", "deepseek/deepseek-chat"),
                    ("deepseek-r1", "deepseek/deepseek-r1"),
                    ("mistral-small", "mistralai/mistral-small"),
                    ("grok-3-mini", "x-ai/grok-3-mini"), ("sonar", "perplexity/sonar"),
                    ("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
                    ("claude-haiku-4-5", "anthropic/claude-haiku-4.5"),
                    ("gemini-2.5-flash", "google/gemini-2.5-flash"),
                    ("gemini-2.5-pro", "google/gemini-2.5-pro"))),
    Preset("Together", "https://api.together.ai", "https://api.together.xyz/v1",
           "TOGETHER_API_KEY", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
           aliases=(("llama-3.3-70b", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
                    ("deepseek-v3", "deepseek-ai/DeepSeek-V3"),
                    ("deepseek-r1", "deepseek-ai/DeepSeek-R1"))),
    Preset("Fireworks", "https://fireworks.ai", "https://api.fireworks.ai/inference/v1",
           "FIREWORKS_API_KEY", "accounts/fireworks/models/llama-v3p3-70b-instruct",
           aliases=(("llama-3.3-70b", "accounts/fireworks/models/llama-v3p3-70b-instruct"),
                    ("deepseek-v3", "accounts/fireworks/models/deepseek-v3"))),
    Preset("DeepInfra", "https://deepinfra.com", "https://api.deepinfra.com/v1/openai",
           "DEEPINFRA_API_KEY", "meta-llama/Llama-3.3-70B-Instruct",
           aliases=(("llama-3.3-70b", "meta-llama/Llama-3.3-70B-Instruct"),
                    ("llama-3.1-8b", "meta-llama/Meta-Llama-3.1-8B-Instruct"),
                    ("deepseek-v3", "deepseek-ai/DeepSeek-V3"),
                    ("deepseek-r1", "deepseek-ai/DeepSeek-R1"))),
    Preset("xAI", "https://console.x.ai", "https://api.x.ai/v1",
           "XAI_API_KEY", "grok-3-mini", vision_models=("grok-4", "grok-2-vision-1212"),
           image_models=("grok-2-image-1212",)),
    Preset("Cerebras", "https://cloud.cerebras.ai", "https://api.cerebras.ai/v1",
           "CEREBRAS_API_KEY", "llama-3.3-70b", aliases=(("llama-3.1-8b", "llama3.1-8b"),)),
    Preset("Perplexity", "https://docs.perplexity.ai", "https://api.perplexity.ai",
           "PERPLEXITY_API_KEY", "sonar"),
    Preset("HuggingFace", "https://huggingface.co/docs/inference-providers",
           "https://router.huggingface.co/v1", "HF_TOKEN", "meta-llama/Llama-3.1-8B-Instruct",
           label="Hugging Face router",
           aliases=(("llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct"),)),
    Preset("Ollama", "https://ollama.com", "http://127.0.0.1:11434/v1", "OLLAMA_API_KEY",
           None, needs_auth=False, api_base_env="OLLAMA_BASE_URL", label="Ollama (OpenAI API)",
           local=True),
    Preset("VLLM", "https://docs.vllm.ai", "http://127.0.0.1:8000/v1", "VLLM_API_KEY",
           None, needs_auth=False, api_base_env="VLLM_BASE_URL", label="vLLM server",
           local=True),
    Preset("LlamaCpp", "https://github.com/ggml-org/llama.cpp", "http://127.0.0.1:8080/v1",
           "LLAMACPP_API_KEY", None, needs_auth=False, api_base_env="LLAMACPP_BASE_URL",
           label="llama.cpp server", local=True),
    Preset("LMStudio", "https://lmstudio.ai", "http://127.0.0.1:1234/v1", "LMSTUDIO_API_KEY",
           None, needs_auth=False, api_base_env="LMSTUDIO_BASE_URL", label="LM Studio",
           local=True),
)  # fmt: skip


def _provider_class(row: Preset) -> type[OpenaiTemplate]:
    attributes = {
        "__module__": __name__,
        "__doc__": f"{row.label or row.name}: {row.url} (key: {row.api_key_env}).",
        "url": row.url,
        "label": row.label or row.name,
        "api_base": row.api_base,
        "api_base_env": row.api_base_env,
        "api_base_suffix": row.api_base_suffix,
        "api_key_env": row.api_key_env,
        "auth_header": row.auth_header,
        "needs_auth": row.needs_auth,
        "default_model": row.default_model,
        "model_aliases": MappingProxyType(dict(row.aliases)),
        "web_search_options": row.web_search,
        "fetch_media_urls": row.local,
        "responses_api": row.responses_api,
        "vision_models": row.vision_models,
        "image_models": row.image_models,
    }
    return type(row.name, (OpenaiTemplate,), attributes)


globals().update({row.name: _provider_class(row) for row in PRESETS})
