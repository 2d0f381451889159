"""The event bus: the store writer never loses an event; a screen that falls behind resyncs."""

from __future__ import annotations

import asyncio

import pytest

from otter_tui.events import Event, EventBus, JobStateChanged, LogLine, LogLines, Resync
from tests.fixtures_core import FIXED_NOW


def state(job_id: int) -> JobStateChanged:
    return JobStateChanged(job_id=job_id, state="running", at=FIXED_NOW)


async def test_durable_subscriber_gets_every_event_in_order_under_a_full_queue() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=4)
    events = [state(i) for i in range(500)]

    async def produce() -> None:
        for event in events:
            await bus.publish(event)

    async def consume() -> list[Event]:
        return [await sub.get() for _ in events]

    _, received = await asyncio.gather(produce(), consume())
    assert received == events


async def test_publish_waits_for_a_durable_subscriber_with_a_full_queue() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=1)
    await bus.publish(state(1))
    blocked = asyncio.create_task(bus.publish(state(2)))
    for _ in range(5):  # let the task run as far as it can
        await asyncio.sleep(0)
    assert not blocked.done(), "publish returned although the durable queue was full"

    assert await sub.get() == state(1)
    await blocked
    assert await sub.get() == state(2)


def test_publish_nowait_refuses_to_drop_for_a_durable_subscriber() -> None:
    bus = EventBus()
    bus.subscribe(maxsize=1)
    bus.publish_nowait(state(1))
    with pytest.raises(asyncio.QueueFull):
        bus.publish_nowait(state(2))


async def test_lossy_subscriber_never_slows_the_publisher_and_gets_a_resync() -> None:
    bus = EventBus()
    durable = bus.subscribe(maxsize=100)
    screen = bus.subscribe(lossy=True, maxsize=2)
    for i in range(10):
        await bus.publish(state(i))  # would hang here if the lossy queue applied backpressure

    assert [await screen.get() for _ in range(3)] == [state(0), state(1), Resync()]
    await bus.publish(state(10))
    assert await screen.get() == state(10)
    assert [await durable.get() for _ in range(11)] == [state(i) for i in range(11)]


async def test_resync_comes_before_any_event_published_after_the_gap() -> None:
    """A screen must never show events from after a gap as if nothing had been lost."""
    bus = EventBus()
    screen = bus.subscribe(lossy=True, maxsize=3)
    for i in range(5):  # 0, 1, 2 queued; 3 and 4 lost
        await bus.publish(state(i))
    assert await screen.get() == state(0)
    await bus.publish(state(5))  # published after the gap, while the screen catches up
    await bus.publish(state(6))

    seen = [await screen.get() for _ in range(screen.queue.qsize())]
    assert Resync() in seen
    after_gap = [e for e in seen if e in (state(5), state(6))]
    assert seen.index(Resync()) < min((seen.index(e) for e in after_gap), default=len(seen))
    assert seen[:2] == [state(1), state(2)]

    await bus.publish(state(7))  # one Resync covers the whole gap
    assert await screen.get() == state(7)


async def test_a_lossy_subscriber_that_keeps_up_gets_no_resync() -> None:
    bus = EventBus()
    screen = bus.subscribe(lossy=True, maxsize=2)
    received = []
    for i in range(20):
        await bus.publish(state(i))
        received.append(await screen.get())
    assert received == [state(i) for i in range(20)]
    assert screen.queue.empty()


async def test_unsubscribed_queue_gets_nothing_more() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=1)
    bus.unsubscribe(sub)
    await bus.publish(state(1))  # would block forever if the full-able queue were still served
    await bus.publish(state(2))
    assert sub.queue.empty()
    assert sub.closed


async def test_a_subscriber_of_some_kinds_gets_only_those_and_never_holds_up_the_rest() -> None:
    bus = EventBus()
    lines_only = bus.subscribe(maxsize=1, kinds=(LogLines,))
    everything = bus.subscribe(maxsize=10)
    batch = LogLines((LogLine(1, None, "", 1, FIXED_NOW, "info", "", "hello"),))
    for event in (state(1), state(2), batch, state(3)):
        # A full queue of the kinds it takes would block; other kinds never reach it.
        await asyncio.wait_for(bus.publish(event), 1)
    assert [lines_only.queue.get_nowait()] == [batch]
    assert everything.queue.qsize() == 4
    bus.publish_nowait(state(4))
    assert lines_only.queue.empty()
