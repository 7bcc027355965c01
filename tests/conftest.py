from __future__ import annotations

from collections.abc import Iterator

import pytest

from rt_widget import Emulator
from tests.rtc_client import RtcClient


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def rtc_client() -> Iterator[RtcClient]:
    client = RtcClient()
    yield client
    client.close()
