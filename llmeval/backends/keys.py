"""Which API key goes to which host: sent only to loopback and to hosts the user allows outside suite files.

A host is allowed by `allow_hosts` (`[tool.llmeval]` / `--llmeval-allow-host`) or by naming it in a
model spec given by the user (`--llmeval-model`, `model` in `[tool.llmeval]`). An allowed host gets
the key over https only, unless it is loopback or allowed as `http://host`. A key that may not go
is never sent and never silently dropped: the backend fails with a BackendError saying how to allow it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from llmeval.errors import BackendError

DEFAULT_KEY_VARIABLES = ("LLMEVAL_API_KEY", "OPENAI_API_KEY")


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_from_specs(specs: Iterable[str]) -> list[str]:
    """`scheme://host` of every base URL in the openai: specs the user gave (those hosts count as allowed, with that scheme)."""
    found = []
    for spec in specs:
        if spec.startswith("openai:"):
            for url in spec.removeprefix("openai:").partition("#")[0].split(","):
                parts = urlsplit(url.strip())
                if parts.scheme in ("http", "https") and parts.hostname:
                    found.append(f"{parts.scheme}://{parts.hostname}")
    return found


@dataclass(frozen=True)
class KeyPolicy:
    """`allow_hosts`: "host" (https) or "http://host"; `api_key_env`: "NAME" (any host) or "HOST=NAME" ("HOST=": no key)."""

    allow_hosts: Sequence[str] = ()
    api_key_env: Sequence[str] = ()

    def variables(self, host: str) -> tuple[tuple[str, ...], bool]:
        """The variables to read for `host`, and whether the user named them (a named, unset one is an error)."""
        for entry in self.api_key_env:
            name, sep, value = entry.partition("=")
            if sep and name.strip().lower() == host:
                return ((value.strip(),) if value.strip() else ()), True
        bare = tuple(e.strip() for e in self.api_key_env if "=" not in e and e.strip())
        return (bare, True) if bare else (DEFAULT_KEY_VARIABLES, False)

    def refusal(self, scheme: str, host: str) -> str | None:
        """Why a key may not go to scheme://host, or None when it may."""
        if is_loopback(host):
            return None
        schemes = {entry_scheme for entry_scheme, entry_host in map(_parse_entry, self.allow_hosts) if entry_host == host}
        if "http" in schemes or (scheme == "https" and schemes):
            return None
        if schemes:
            return f"{host} is allowed for https only and this URL is plain http; allow http explicitly with {_how(scheme, host)}"
        return f"{host} is not an allowed host; allow it with {_how(scheme, host)}"

    def key_for(self, base_url: str, spec: str) -> tuple[str | None, str | None]:
        """(key, variable) for this URL, (None, None) when no key is set; BackendError when a key must be withheld."""
        parts = urlsplit(base_url)
        host, scheme = (parts.hostname or "").lower(), parts.scheme
        names, named = self.variables(host)
        found = next(((n, os.environ[n].strip()) for n in names if os.environ.get(n, "").strip()), None)
        if found is None:
            if named and names:
                raise BackendError(f"model spec '{spec}': api_key_env names ${names[0]} for {host}, but it is not set")
            return None, None
        reason = self.refusal(scheme, host)
        if reason is not None:
            raise BackendError(
                f"model spec '{spec}': withholding the API key in ${found[0]}: {reason}. Keys go only to loopback and "
                f"to hosts allowed outside suite files (a suite file cannot allow a host); to call it without a key, "
                f'set api_key_env = ["{host}="] in [tool.llmeval]'
            )
        return found[1], found[0]


def _parse_entry(entry: str) -> tuple[str, str]:
    """("http" | "https", host) of an allow_hosts entry: "host", "host:port", "https://host", "http://host"."""
    text = entry.strip().lower()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    return parts.scheme, parts.hostname or text


def _how(scheme: str, host: str) -> str:
    entry = f"http://{host}" if scheme == "http" else host
    return (
        f'--llmeval-allow-host {entry} or allow_hosts = ["{entry}"] in [tool.llmeval] of pyproject.toml, '
        f"or by giving the model with --llmeval-model"
    )
