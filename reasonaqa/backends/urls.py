"""Endpoint URLs safe to store and print: credentials in them never reach a file or a log.

``http://user:key@host/v1`` carries a secret in its user-info, and some gateways take the
key as a query value (``?api-key=...``). The backend still gets the real URL; everything
that is saved (``_run.json``, the journal's saved settings) or printed gets ``redact_url``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HIDDEN = "***"
# Query names whose values are secrets, compared without case, "-" and "_".
SECRET_QUERY_NAMES = frozenset({"key", "apikey", "token", "accesstoken", "secret", "password"})


def redact_url(url: str) -> str:
    """``url`` with its user-info and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unparsable URL>"  # rather than risk storing a secret we could not find
    netloc = parts.netloc
    if "@" in netloc:
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
        netloc = f"{HIDDEN}@{host}{port}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = parts.query
    if any(_is_secret(name) for name, _ in pairs):
        query = urlencode(
            [(name, HIDDEN if _is_secret(name) else value) for name, value in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _is_secret(name: str) -> bool:
    return name.lower().replace("-", "").replace("_", "") in SECRET_QUERY_NAMES
