"""A mail sink on loopback whose answer can be delayed: the `slow-smtp` scenario
checks that a slow mail server slows only the task worker, never a request."""

import asyncio

from aiosmtpd.controller import Controller

from bench.server import HOST


class DelayedSink:
    """Accepts every message, answering DATA after `delay` seconds."""

    def __init__(self):
        self.delay = 0.0
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received += 1
        return "250 Message accepted"


class SmtpSink:
    def __init__(self, port: int):
        self.handler = DelayedSink()
        self.controller = Controller(
            self.handler, hostname=HOST, port=port, server_hostname="bench-sink"
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def set_delay(self, seconds: float) -> None:
        self.handler.delay = seconds

    @property
    def received(self) -> int:
        return self.handler.received
