"""Redis Streams adapter: one stream per partition, consumer groups, leased partitions.

Layout (prefix `haven:events` unless the URL says `?prefix=`):

- `<prefix>:<n>` for n in 0..partitions-1: the stream of partition n. A message goes to
  partition `crc32(key) % partitions`, so one key's messages stay in one stream, in order.
  Each XADD trims with `MAXLEN ~ maxlen` (default 100,000 per partition, `?maxlen=`): Redis
  keeps everything in memory, so retention is a count. Trimming ignores consumer groups: a
  group more than `maxlen` messages behind a partition loses the oldest ones (as Kafka's
  retention would); a trimmed entry still pending in a group is skipped and acknowledged.
- `<prefix>:lease:<group>:<n>`: which member of `group` owns partition n (SET NX PX).
- `<prefix>:members:<group>`: a sorted set of live members, scored by their lease expiry.

Order: a member reads a partition only while it holds the partition's lease, so a key's
entries never go to two members at once. A member takes at most its fair share of the
partitions (ceil(partitions / live members)) and gives back a partition above its share only
when nothing of it is unacknowledged. A background task renews the leases every third of
`lease` seconds (default 10, `?lease=`); a member that dies loses them when they expire.
A member that takes a partition first claims every entry still pending there (XAUTOCLAIM,
min idle 0: the lease, not idle time, says the old owner is gone) and delivers those, in
order and with their delivery count as `attempt`, before anything new. While it owns the
partition it also claims, every quarter lease, entries pending elsewhere for longer than a
lease: those a former owner read after it had lost the lease (alive but cut off); they come
late, out of order, but they come.

A connection lost mid-read may have moved entries into this member's pending list without
their reaching it; after a reconnect the member re-reads its own pending entries after the
last one it saw (XREADGROUP with an id), so nothing stays stuck.

Publishing a batch is one call of a Lua script (`_APPEND`, EVALSHA): one request, one
integer reply. A pipeline of XADDs costs redis-py a reply to parse per message (in a
MULTI/EXEC transaction two: "QUEUED", then the EXEC array), which made publishing most of
what the relay spent per event on Redis. The script runs atomically and stops at the first
XADD that fails, so a failure leaves each stream at most a prefix of its share of the batch,
in order (a server out of memory refuses the first XADD: nothing is appended). MULTI/EXEC
gave no more: it rolls nothing back, and the commands after a failed one still run. The
relay then publishes the whole batch again; consumers deduplicate by event id (bus/base.py).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from haven.events.bus.base import BusError, Message, check_batch, partition_of

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
# Appends a batch. KEYS: the streams it goes to. ARGV: the MAXLEN, then for each stream (in
# KEYS' order) a JSON array of its messages' [id, key, type, position], then their bodies.
# One JSON text per stream instead of four arguments per message: redis-py encodes and
# frames each argument in Python: that was half of what a publish cost the relay.
_APPEND = """
local maxlen = ARGV[1]
local i = 2
for k = 1, #KEYS do
  local heads = cjson.decode(ARGV[i])
  i = i + 1
  for _, head in ipairs(heads) do
    redis.call('xadd', KEYS[k], 'MAXLEN', '~', maxlen, '*', 'id', head[1], 'key', head[2],
      'type', head[3], 'position', head[4], 'body', ARGV[i])
    i = i + 1
  end
end
return i - 2 - #KEYS
"""
# Entries claimed per XAUTOCLAIM call when taking over a partition.
_CLAIM_CHUNK = 1000
# Consecutive connection failures one receive() absorbs before it raises BusError.
_RETRIES = 3


@dataclass(frozen=True, slots=True)
class RedisDelivery:
    message: Message
    attempt: int
    partition: int
    entry_id: str


@dataclass(slots=True)
class _Partition:
    number: int
    # Re-read own pending entries after this id before reading new ones (None: read new).
    history_after: str | None = "0-0"
    last_seen: str = "0-0"
    unacked: set[str] = field(default_factory=set)


def _next_id(entry_id: str) -> str:
    millis, _, seq = entry_id.partition("-")
    return f"{millis}-{int(seq or 0) + 1}"


def _order(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisBus:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        self.prefix = options.pop("prefix", "haven:events")
        self.partitions = int(options.pop("partitions", "8"))
        self.maxlen = int(options.pop("maxlen", "100000"))
        self.lease = float(options.pop("lease", "10"))
        if self.partitions < 1 or self.maxlen < 1 or self.lease <= 0:
            raise ValueError(f"bad redis bus options in {url!r}")
        plain = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            plain, socket_connect_timeout=5, health_check_interval=5
        )
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._append = self.client.register_script(_APPEND)

    def stream(self, partition: int) -> str:
        return f"{self.prefix}:{partition}"

    async def publish(self, messages: Sequence[Message]) -> None:
        check_batch(messages)
        if not messages:
            return
        by_partition: dict[int, list[Message]] = {}
        for message in messages:
            number = partition_of(message.key, self.partitions)
            by_partition.setdefault(number, []).append(message)
        args: list[Any] = [self.maxlen]
        for share in by_partition.values():
            # The position as text: Lua would turn a JSON number into a float.
            heads = [(m.id, m.key, m.type, str(m.position)) for m in share]
            args.append(orjson.dumps(heads))
            args += [m.body for m in share]
        streams = [self.stream(number) for number in by_partition]
        try:
            appended = await self._append(keys=streams, args=args)
        except RedisError as error:
            raise BusError(f"redis publish failed: {error}") from error
        if appended != len(messages):
            raise BusError(f"redis publish appended {appended} of {len(messages)} messages")

    def subscribe(self, group: str) -> RedisSubscription:
        return RedisSubscription(self, group)

    async def close(self) -> None:
        await self.client.aclose()


class RedisSubscription:
    def __init__(self, bus: RedisBus, group: str) -> None:
        self.bus = bus
        self.group = group
        self.member = uuid.uuid4().hex
        self.owned: dict[int, _Partition] = {}
        self._ready: deque[RedisDelivery] = deque()
        self._started = False
        self._closed = False
        self._renewer: asyncio.Task[None] | None = None
        self._next_balance = 0.0

    @property
    def _members_key(self) -> str:
        return f"{self.bus.prefix}:members:{self.group}"

    def _lease_key(self, partition: int) -> str:
        return f"{self.bus.prefix}:lease:{self.group}:{partition}"

    @property
    def _lease_ms(self) -> int:
        return int(self.bus.lease * 1000)

    async def _start(self) -> None:
        client = self.bus.client
        for number in range(self.bus.partitions):
            try:
                await client.xgroup_create(
                    self.bus.stream(number), self.group, id="0", mkstream=True
                )
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        await self._heartbeat()
        self._started = True
        self._renewer = asyncio.create_task(self._keep_leases())

    async def _heartbeat(self) -> None:
        now = time.time() * 1000
        async with self.bus.client.pipeline(transaction=False) as pipe:
            pipe.zadd(self._members_key, {self.member: now + self._lease_ms})
            pipe.zremrangebyscore(self._members_key, "-inf", now)
            pipe.pexpire(self._members_key, self._lease_ms * 10)
            await pipe.execute()

    async def _keep_leases(self) -> None:
        """Renew this member's leases until it closes; drop the partitions it lost."""
        while not self._closed:
            await asyncio.sleep(self.bus.lease / 3)
            try:
                await self._renew_all()
            except RedisError:
                continue  # the next round retries; a lease outlives two missed renewals

    async def _renew_all(self) -> None:
        await self._heartbeat()
        for number in list(self.owned):
            kept = await self.bus._renew(
                keys=[self._lease_key(number)], args=[self.member, self._lease_ms]
            )
            if not kept:
                self._drop(number)

    def _drop(self, number: int) -> None:
        self.owned.pop(number, None)
        self._ready = deque(item for item in self._ready if item.partition != number)

    async def _balance(self) -> None:
        """Take free partitions up to a fair share; give back idle ones above it."""
        client = self.bus.client
        now = time.time() * 1000
        live = await client.zcount(self._members_key, now, "+inf")
        share = math.ceil(self.bus.partitions / max(1, live))
        for number in sorted(self.owned, reverse=True):
            state = self.owned.get(number)  # the renewer may have dropped it meanwhile
            if len(self.owned) <= share:
                break
            idle = state is not None and not state.unacked
            if idle and not any(item.partition == number for item in self._ready):
                await self.bus._release(keys=[self._lease_key(number)], args=[self.member])
                self._drop(number)
        start = partition_of(self.member, self.bus.partitions)
        for offset in range(self.bus.partitions):
            if len(self.owned) >= share:
                break
            number = (start + offset) % self.bus.partitions
            if number in self.owned:
                continue
            taken = await client.set(
                self._lease_key(number), self.member, nx=True, px=self._lease_ms
            )
            if taken:
                await self._claim(number, min_idle_ms=0)
                self.owned[number] = _Partition(number)
        # Entries a former owner took after it lost the lease (it was alive but cut off) sit
        # in its pending list; once idle for a lease, the owner takes them over too.
        for state in list(self.owned.values()):
            if await self._claim(state.number, min_idle_ms=self._lease_ms):
                state.history_after = "0-0"

    async def _claim(self, number: int, *, min_idle_ms: int) -> bool:
        """Move the partition's pending entries idle this long to this member; True if any."""
        stream = self.bus.stream(number)
        start = "0-0"
        claimed = False
        for _ in range(self.bus.maxlen // _CLAIM_CHUNK + 2):
            ids: Any = await self.bus.client.xautoclaim(
                stream, self.group, self.member, min_idle_ms, start, count=_CLAIM_CHUNK, justid=True
            )
            claimed = claimed or bool(ids)
            if len(ids) < _CLAIM_CHUNK:
                break
            start = _next_id(_text(ids[-1]))
        return claimed

    async def _read_history(self, max_messages: int) -> bool:
        """Deliver own pending entries of partitions in history mode; False if none were."""
        client = self.bus.client
        found = False
        for state in list(self.owned.values()):
            if state.history_after is None:
                continue
            stream = self.bus.stream(state.number)
            reply: Any = await client.xreadgroup(
                self.group, self.member, {stream: state.history_after}, count=max_messages
            )
            entries = reply[0][1] if reply else []
            if not entries:
                state.history_after = None
                continue
            first, last = _text(entries[0][0]), _text(entries[-1][0])
            pending: Any = await client.xpending_range(
                stream, self.group, first, last, len(entries), consumername=self.member
            )
            counts = {_text(p["message_id"]): int(p["times_delivered"]) for p in pending}
            state.history_after = last
            trimmed = []
            for entry_id, fields in entries:
                if not fields:
                    trimmed.append(entry_id)
                    continue
                text_id = _text(entry_id)
                if text_id in state.unacked:
                    continue  # held by this member already (claimed back while idle)
                self._queue(state, text_id, fields, counts.get(text_id, 1))
                found = True
            if trimmed:
                await client.xack(stream, self.group, *trimmed)
        return found

    def _queue(
        self, state: _Partition, entry_id: str, fields: dict[Any, Any], attempt: int
    ) -> None:
        message = Message(
            id=_text(fields[b"id"]),
            key=_text(fields[b"key"]),
            type=_text(fields[b"type"]),
            position=int(fields[b"position"]),
            body=bytes(fields[b"body"]),
        )
        if _order(entry_id) > _order(state.last_seen):
            state.last_seen = entry_id
        state.unacked.add(entry_id)
        self._ready.append(RedisDelivery(message, attempt, state.number, entry_id))

    async def _read_new(self, max_messages: int, block: float) -> None:
        if not self.owned:
            await asyncio.sleep(block)
            return
        streams: Any = {self.bus.stream(number): ">" for number in sorted(self.owned)}
        reply: Any = await self.bus.client.xreadgroup(
            self.group, self.member, streams, count=max_messages, block=max(1, int(block * 1000))
        )
        for stream, entries in reply or []:
            number = int(_text(stream).rsplit(":", 1)[1])
            state = self.owned.get(number)
            if state is None:
                continue  # lost meanwhile: the new owner claims these entries
            for entry_id, fields in entries:
                if fields:
                    self._queue(state, _text(entry_id), fields, 1)

    def _take(self, max_messages: int) -> list[RedisDelivery]:
        count = min(max_messages, len(self._ready))
        return [self._ready.popleft() for _ in range(count)]

    async def receive(self, *, max_messages: int, timeout: float) -> Sequence[RedisDelivery]:  # noqa: ASYNC109
        # (ASYNC109: `timeout` is the broker long-poll handed to the driver, not a cancel.)
        if self._closed:
            raise BusError("subscription is closed")
        deadline = time.monotonic() + timeout
        failures = 0
        while True:
            if self._ready:
                return self._take(max_messages)
            remaining = deadline - time.monotonic()
            try:
                if not self._started:
                    await self._start()
                if time.monotonic() >= self._next_balance:
                    self._next_balance = time.monotonic() + self.bus.lease / 4
                    await self._balance()
                if await self._read_history(max_messages):
                    continue
                if remaining <= 0:
                    return []
                await self._read_new(max_messages, min(remaining, self.bus.lease / 4))
                failures = 0
            except (ConnectionError, OSError, RedisError) as error:
                failures += 1
                for state in self.owned.values():
                    state.history_after = state.last_seen
                if failures >= _RETRIES or time.monotonic() >= deadline:
                    raise BusError(f"redis receive failed: {error}") from error
                await asyncio.sleep(min(0.05 * failures, max(0.0, remaining)))

    async def ack(self, deliveries: Sequence[Any]) -> None:
        by_partition: dict[int, list[str]] = {}
        for delivery in deliveries:
            assert isinstance(delivery, RedisDelivery)
            by_partition.setdefault(delivery.partition, []).append(delivery.entry_id)
        if not by_partition:
            return
        try:
            async with self.bus.client.pipeline(transaction=False) as pipe:
                for number, ids in by_partition.items():
                    pipe.xack(self.bus.stream(number), self.group, *ids)
                await pipe.execute()
        except RedisError as error:
            raise BusError(f"redis ack failed: {error}") from error
        for number, ids in by_partition.items():
            state = self.owned.get(number)
            if state is not None:
                state.unacked.difference_update(ids)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        if not self._started:
            return
        try:
            for number in list(self.owned):
                await self.bus._release(keys=[self._lease_key(number)], args=[self.member])
            await self.bus.client.zrem(self._members_key, self.member)
        except RedisError:
            pass  # the leases expire on their own
        self.owned.clear()
        self._ready.clear()
