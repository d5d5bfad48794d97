"""A real SMTP server (aiosmtpd) for the browser journeys: every message it receives is decoded
with Python's email package and written as one JSON file, so the journeys read plain text.

    python smtp_sink.py PORT DIR

Each message becomes DIR/<sequence>.json: {"to": [...], "from": ..., "subject": ..., "text": ...,
"html": ...}. It prints "ready" once it accepts connections and runs until killed.
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.controller import Controller


class WriteJson:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        parts = {"text": None, "html": None}
        for kind in ("plain", "html"):
            body = message.get_body(preferencelist=(kind,))
            if body is not None:
                parts["text" if kind == "plain" else "html"] = body.get_content()
        self.count += 1
        record = {
            "to": list(envelope.rcpt_tos),
            "from": envelope.mail_from,
            "subject": str(message["subject"] or ""),
            **parts,
        }
        # Written under a temporary name then renamed, so a reader never sees half a file.
        final = os.path.join(self.directory, f"{self.count:06d}.json")
        with open(final + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(final + ".tmp", final)
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(WriteJson(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
