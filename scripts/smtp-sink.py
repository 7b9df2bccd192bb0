"""A local SMTP sink for the tests (aiosmtpd, from PyPI).

    smtp-sink.py PORT DIR [REFUSE_ONCE]

Accepts mail on 127.0.0.1:PORT and writes each message to DIR, one file per recipient
(`*.eml`, its first line `X-Rcpt-To: ADDRESS`), written whole and then renamed, so a
reader never sees half a message. Addresses in REFUSE_ONCE (comma-separated) are
refused with a temporary error (451) the first time they are offered: a sender must
try again. Writes DIR/ready once listening; runs until killed.
"""

import asyncio
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir, refuse_once):
        self.outdir = outdir
        self.refuse_once = set(refuse_once)
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_once:
            self.refuse_once.discard(address)
            return "451 4.3.0 Try again later (the test sink refuses this address once)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            self.count += 1
            path = os.path.join(self.outdir, f"{time.time_ns()}-{self.count}.eml")
            with open(path + ".part", "wb") as f:
                f.write(f"X-Rcpt-To: {rcpt}\r\n".encode())
                f.write(envelope.original_content)
            os.rename(path + ".part", path)
        return "250 Message accepted"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    refuse = [a for a in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if a]
    os.makedirs(outdir, exist_ok=True)
    controller = Controller(Sink(outdir, refuse), hostname="127.0.0.1", port=port)
    controller.start()
    with open(os.path.join(outdir, "ready"), "w") as f:
        f.write("ready\n")
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
