import asyncio

from campaign_pipeline.http.pacing import Pacer


def send_times(pacer: Pacer, sends: int, pause: float | None = None) -> list[float]:
    async def run() -> list[float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        if pause is not None:
            pacer.pause(pause)
        times = []
        for _ in range(sends):
            await pacer.wait()
            times.append(loop.time() - start)
        return times

    return asyncio.run(run())


def test_a_rate_spaces_the_sends():
    times = send_times(Pacer(20.0), 5)
    assert times[0] < 0.2
    # Sends are slotted on a schedule, so one late wake-up shortens the next
    # gap: what holds is that send k goes no sooner than k intervals after the first.
    assert all(times[k] - times[0] >= k * 0.05 - 0.002 for k in range(1, 5)), times


def test_no_rate_sends_at_once():
    assert send_times(Pacer(None), 50)[-1] < 0.5  # paced at 20/s it would take 2.45 s


def test_a_pause_holds_every_send_until_it_ends():
    times = send_times(Pacer(None), 3, pause=0.2)
    assert all(t >= 0.19 for t in times), times


def test_concurrent_waiters_share_one_rate():
    async def run() -> float:
        pacer = Pacer(50.0)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(*(pacer.wait() for _ in range(6)))
        return loop.time() - start

    assert asyncio.run(run()) >= 0.095
