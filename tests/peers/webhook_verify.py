#!/usr/bin/env python3
"""Verifies one captured Tenantry webhook delivery with the Standard Webhooks library, and with
svix when it is installed (it wraps standardwebhooks, with its own header handling); under CI
(`CI` set) svix must be installed.

stdin: {"secret": "whsec_...", "headers": {"webhook-id": ..., ...}, "body": "<the exact body>"}
stdout: one line per library, "<library>: ok" or "<library>: error: <why>".
Exit status 0 when every library verified the delivery, 1 otherwise.
"""
import json
import os
import sys

import standardwebhooks

request = json.load(sys.stdin)
body = request["body"].encode()
headers = request["headers"]
secret = request["secret"]
verified = True


def check(name, verify):
    global verified
    try:
        verify()
        print(f"{name}: ok")
    except Exception as e:  # noqa: BLE001 - every refusal is reported the same way
        verified = False
        print(f"{name}: error: {type(e).__name__}: {e}")


check("standardwebhooks", lambda: standardwebhooks.Webhook(secret).verify(body, headers))
try:
    import svix.webhooks
except ImportError:
    # Optional for a developer; under CI every peer must run (see tenantry_testkit::under_ci).
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        raise
    svix = None
if svix is not None:
    check("svix", lambda: svix.webhooks.Webhook(secret).verify(body, headers))
sys.exit(0 if verified else 1)
