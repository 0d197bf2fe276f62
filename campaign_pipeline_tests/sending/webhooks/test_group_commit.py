"""Status callbacks commit in groups (webhooks/group_commit.py): each request is
answered after the transaction holding its write committed, a failed batch
fails every request in it and changes nothing, and the writer goes on."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.webhooks.group_commit import GroupCommit, single_thread
from campaign_pipeline_tests.sending.delivery_fixtures import (
    handed_over_campaign, message_rows, poison, provider_id,
)
from campaign_pipeline_tests.sending.webhooks.helpers import SENDER, WebhookServer, inbound_form, status_form
from campaign_pipeline_tests.sending.webhooks.test_inbound import suppression_of


def test_requests_arriving_while_a_batch_is_written_go_together_in_the_next():
    first_written, release = threading.Event(), threading.Event()
    batches = []

    def apply(items):
        batches.append(list(items))
        if len(batches) == 1:
            first_written.set()
            release.wait(10)
        return [item * 10 for item in items]

    async def scenario():
        commit = GroupCommit(apply, single_thread("test-writer"))
        first = asyncio.create_task(commit.submit(1))
        await asyncio.get_running_loop().run_in_executor(None, first_written.wait, 10)
        later = [asyncio.create_task(commit.submit(n)) for n in range(2, 7)]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in later)  # nothing answered before its commit
        release.set()
        answers = await asyncio.gather(first, *later)
        await commit.close()
        return answers

    assert asyncio.run(scenario()) == [10, 20, 30, 40, 50, 60]
    assert batches == [[1], [2, 3, 4, 5, 6]]


def test_a_failed_batch_fails_each_of_its_requests_and_the_next_batch_is_written():
    gate = threading.Event()

    def apply(items):
        gate.wait(10)
        if "bad" in items:
            raise RuntimeError("database said no")
        return [item.upper() for item in items]

    async def scenario():
        commit = GroupCommit(apply, ThreadPoolExecutor(1))
        blocker = asyncio.create_task(commit.submit("first"))
        await asyncio.sleep(0.05)
        batch = [asyncio.create_task(commit.submit(item)) for item in ("a", "bad", "b")]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(blocker, *batch, return_exceptions=True)
        after = await commit.submit("c")
        await commit.close()
        return results, after

    results, after = asyncio.run(scenario())
    assert results[0] == "FIRST"
    assert all(isinstance(result, RuntimeError) for result in results[1:])
    assert after == "C"


def test_a_database_error_answers_500_to_its_whole_batch_and_changes_nothing_of_it(engine, campaign_db_url):
    phones = {f"+35840800{i:04d}": "sent" for i in range(120)}
    campaign_id, sids = handed_over_campaign(engine, "org-1", phones)
    poisoned = sids["+358408000007"]
    poison(engine, poisoned)
    forms = [status_form(sid, "delivered", to=phone) for phone, sid in sids.items()]
    with WebhookServer(campaign_db_url) as server, httpx.Client() as client, ThreadPoolExecutor(32) as pool:
        answers = dict(zip(sids.values(), pool.map(lambda form: server.post("/twilio/status", form, client=client),
                                                   forms)))
        assert server.post("/twilio/status", status_form(poisoned, "delivered")).status_code == 500  # retried: again
    assert answers[poisoned].status_code == 500
    assert {answer.status_code for answer in answers.values()} <= {204, 500}
    ended = message_rows(engine, campaign_id)
    for phone, sid in sids.items():  # acknowledged means applied; refused means untouched
        assert ended[phone] == (("delivered", None) if answers[sid].status_code == 204 else ("sent", None))
    failed = server.events("webhook_failed")
    assert len(failed) == 1 + sum(answer.status_code == 500 for answer in answers.values())
    assert all("poisoned" in entry["error"] for entry in failed)
    (counts,) = server.events("callback_counts")  # at shutdown: what was committed
    assert counts["moved"] == sum(answer.status_code == 204 for answer in answers.values())


def test_a_stop_during_a_flood_of_status_callbacks_is_suppressed_when_its_answer_returns(engine, campaign_db_url):
    set_organization(engine, "org-1", {"sender": SENDER})
    phones = {f"+35840900{i:04d}": "accepted" for i in range(300)}
    campaign_id, sids = handed_over_campaign(engine, "org-1", phones)
    forms = [status_form(sid, status, to=phone) for status in ("queued", "sent", "delivered")
             for phone, sid in sids.items()]
    with WebhookServer(campaign_db_url) as server, httpx.Client() as client, ThreadPoolExecutor(16) as pool:
        flood = pool.map(lambda form: server.post("/twilio/status", form, client=client).status_code, forms)
        stop = server.post("/twilio/inbound", inbound_form(provider_id(), "+358401112233", "STOP"))
        assert stop.status_code == 200
        assert suppression_of(engine, "org-1", "+358401112233")[0] == "stop_reply"
        assert set(flood) == {204}
    assert set(message_rows(engine, campaign_id).values()) == {("delivered", None)}
