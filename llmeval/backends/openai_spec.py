"""The `openai:` model spec: `<base url>[,<base url>...]#<model name>`, and the ids a user vouches for served names."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from llmeval.backends.keys import DEFAULT_KEY_VARIABLES
from llmeval.errors import BackendError

SPEC_EXAMPLE = "openai:http://127.0.0.1:8000/v1#my-model"


def parse_target(target: str) -> tuple[str, str]:
    """`<base url>#<model name>` → (base url without a trailing slash, model name); BackendError if malformed."""
    urls, model = parse_targets(target)
    if len(urls) > 1:
        raise BackendError(f"model spec 'openai:{target}' names {len(urls)} base URLs where one was expected")
    return urls[0], model


def parse_targets(target: str) -> tuple[list[str], str]:
    """`<base url>[,<base url>...]#<model name>` → (base URLs without trailing slashes, model name)."""
    base, sep, model = target.partition("#")
    model = model.strip()
    spec = f"openai:{target}"
    if not sep or not model:
        raise BackendError(
            f"model spec '{spec}' needs the model name after '#': write openai:<base url>#<model name>, e.g. {SPEC_EXAMPLE}"
            f" (a fleet: openai:<url>,<url>,...#<model name>)"
        )
    urls = [_check_url(url.strip().rstrip("/"), model, spec) for url in base.split(",") if url.strip()]
    if not urls:
        raise BackendError(f"model spec '{spec}' needs an http(s) base URL before '#', e.g. {SPEC_EXAMPLE}")
    return list(dict.fromkeys(urls)), model


def declared_id(model: str, model_ids: Sequence[str]) -> str | None:
    """The id the user declared for served model `model` ("NAME=ID" entries), or None; BackendError if malformed."""
    for entry in model_ids:
        name, sep, value = entry.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise BackendError(f"model_ids entry {entry!r} must be NAME=ID (the served model name, then the id you vouch for)")
        if name.strip() == model:
            return value.strip()
    return None


def _check_url(base: str, model: str, spec: str) -> str:
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(f"model spec '{spec}' needs an http(s) base URL before '#', e.g. {SPEC_EXAMPLE}")
    if parts.username or parts.password:
        raise BackendError(
            f"model spec '{parts.scheme}://{parts.hostname}...#{model}' carries credentials in its URL; "
            f"remove them and set {' or '.join(DEFAULT_KEY_VARIABLES)} instead (specs are written to reports and the cache)"
        )
    return base
