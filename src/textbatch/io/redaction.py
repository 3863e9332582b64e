"""One redaction function for every place a URL is shown or stored.

Credentials travel inside URLs in two ways: userinfo (``s3://KEY:SECRET@bucket/x``,
``https://user:pass@host/x``) and the query of a pre-signed URL (``?X-Amz-Signature=...``,
Azure's ``?sig=``, ``?token=``). ``redact`` removes the first and masks the values of the second;
every sink (log lines, error messages, manifests, checkpoints, run.json, cache manifests) calls
it, or ``scrub`` for free text that may quote a URL (a storage library's error message).

``redact`` also remembers each secret it removed, so ``scrub`` can mask one that a library
repeats in another shape (botocore's ``Invalid bucket name "KEY:SECRET@bucket"``).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "REDACTED"
# A query parameter whose name holds one of these words carries a credential: AWS SigV2/V4
# (Signature, X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, AWSAccessKeyId), GCS
# (X-Goog-Signature, X-Goog-Credential), Azure SAS (sig), CloudFront (Policy, Key-Pair-Id),
# OAuth and API keys (access_token, api_key, key, token, password, secret, auth, code).
_SECRET_WORDS = ("sig", "token", "secret", "password", "passwd", "pwd", "credential", "key",
                 "auth", "policy", "session", "code")
# A URL in free text ends at a space or quote, or before the ``:LINE:`` of ``path:line: reason``.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+?(?=:\d+(?::|\s|$)|[\s'\"<>]|$)")
_MIN_SECRET = 4  # shorter values ("1", "ab") would mask ordinary words in messages
_seen: set[str] = set()


def secret_param(name: str) -> bool:
    """True when a query parameter named ``name`` carries a credential."""
    lower = name.lower()
    return any(word in lower for word in _SECRET_WORDS)


def redact(url: str) -> str:
    """``url`` without userinfo and with credential-bearing query values masked:
    ``s3://KEY:SECRET@bucket/x?X-Amz-Signature=abc&part=1`` ->
    ``s3://bucket/x?X-Amz-Signature=REDACTED&part=1``. Anything that is not a URL is returned
    unchanged."""
    if "://" not in url or ("@" not in url and "=" not in url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        _remember(userinfo, *userinfo.split(":", 1))
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_query(parts.query),
                       parts.fragment))


def _redact_query(query: str) -> str:
    if "=" not in query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(secret_param(name) for name, _ in pairs):
        return query
    _remember(*(value for name, value in pairs if secret_param(name)))
    return urlencode([(name, MASK if secret_param(name) else value) for name, value in pairs],
                     safe="/:")


def _remember(*secrets: str) -> None:
    _seen.update(s for s in secrets if len(s) >= _MIN_SECRET)


def scrub(text: str) -> str:
    """Free text with every URL in it redacted and every secret seen so far masked."""
    text = _URL.sub(lambda match: redact(match.group(0)), text)
    for secret in sorted(_seen, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
