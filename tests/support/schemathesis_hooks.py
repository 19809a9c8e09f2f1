"""Schemathesis hooks for intake's signed API, loaded by the ``st`` CLI through
``SCHEMATHESIS_HOOKS=<this file>`` (never imported by pytest itself).

A source signs each request over its raw body (``X-Signature: sha256=<hex HMAC-SHA256(secret,
"<timestamp>.<raw body>")>``), so no fixed ``-H`` header can pass: the signature is made by a
``requests`` auth object, after the body has been serialised, from the source named in
``CIVICFLOW_FUZZ_SOURCE`` and the secret in ``CIVICFLOW_FUZZ_SECRET``.

Only requests that carry the security headers get signed: when schemathesis leaves them out
on purpose (a missing-header case), the request goes unsigned and must be answered 401."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import Any

import requests
import schemathesis

SIGNATURE_HEADERS = ("X-Source", "X-Timestamp", "X-Signature")


class SourceSignature(requests.auth.AuthBase):
    def __init__(self, source: str, secret: str) -> None:
        self.source = source
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not any(name in request.headers for name in SIGNATURE_HEADERS):
            return request
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        if not isinstance(raw, bytes):
            raise TypeError("a streamed body cannot be signed")
        timestamp = str(int(time.time()))
        digest = hmac.new(self.secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
        request.headers["X-Source"] = self.source
        request.headers["X-Timestamp"] = timestamp
        request.headers["X-Signature"] = "sha256=" + digest.hexdigest()
        return request


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    source = os.environ.get("CIVICFLOW_FUZZ_SOURCE")
    secret = os.environ.get("CIVICFLOW_FUZZ_SECRET")
    if source and secret:
        kwargs["auth"] = SourceSignature(source, secret)
