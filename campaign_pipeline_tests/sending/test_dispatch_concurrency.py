"""Limits shared by the dispatchers of different campaigns, under real concurrency
(threads released together, each on its own connection): the organization's daily
quota and CAMPAIGN_MAX_SENDING are never exceeded, on SQLite and PostgreSQL (where
READ COMMITTED would otherwise let two counts see the same room)."""

import gc
import io
import threading

from sqlalchemy import func, select, update

from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.sending import campaigns as campaign_service
from campaign_pipeline.sending import ledger
from campaign_pipeline.sending.db.models import campaigns, messages, utc_now
from campaign_pipeline.sending.dispatcher import Dispatcher, Settings, dispatch_run
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.providers.proof import ProofProvider
from campaign_pipeline.sending.rules.hours import day_start
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row, engine, write_dataset  # noqa: F401

RACERS = 8


def scheduled_campaigns(engine, write_dataset, count: int, recipients: int,  # noqa: F811
                        phones: list[str] | None = None) -> list[int]:
    phones = phones or [f"+35840{n:07d}" for n in range(recipients)]
    path = write_dataset([dataset_row(phone, subject_id=f"s{n}") for n, phone in enumerate(phones)])
    ids = []
    for n in range(count):
        created = campaign_service.create_campaign(engine, "org-1", name=f"c{n}", body="Hei", dataset=path)
        campaign_service.schedule_campaign(engine, "org-1", created["id"])
        ids.append(created["id"])
    return ids


def together(work, arguments) -> list:
    """Runs work(argument) in one thread each, released at once; their results."""
    gun = threading.Barrier(len(arguments))
    results: list = [None] * len(arguments)
    errors: list = []

    def run(index, argument):
        try:
            gun.wait()
            results[index] = work(argument)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_the_daily_quota_holds_across_dispatchers_of_one_organization(engine, write_dataset):  # noqa: F811
    quota = 25
    set_organization(engine, "org-1", {"window_start": "00:00", "window_end": "24:00", "daily_quota": quota})
    ids = scheduled_campaigns(engine, write_dataset, RACERS, 10)
    with engine.begin() as connection:
        connection.execute(update(campaigns).where(campaigns.c.id.in_(ids)).values(status="sending"))
        due = {campaign_id: [m.id for m in ledger.due(connection, campaign_id, utc_now(), 100)] for campaign_id in ids}
    now = utc_now()
    since = day_start("Europe/Helsinki", now)

    def claim(campaign_id):
        return ledger.claim(engine, campaign_id, "org-1", due[campaign_id], "run", now, quota, since)

    results = together(claim, ids)
    claimed = sum(len(result.claimed) for result in results)
    assert claimed == quota, [len(result.claimed) for result in results]
    assert sum(len(result.over_quota) for result in results) == RACERS * 10 - quota
    with engine.connect() as connection:
        assert ledger.handed_over_since(connection, "org-1", since) == quota


def test_no_more_campaigns_sending_at_once_than_the_limit(engine, write_dataset):  # noqa: F811
    ids = scheduled_campaigns(engine, write_dataset, RACERS, 1)
    limit = 3
    settings = Settings(max_sending=limit)

    def start(campaign_id):
        return Dispatcher(engine, ProofProvider(), JsonLog(io.StringIO()), settings)._start(campaign_id)

    started = together(start, ids)
    assert sum(started) == limit
    with engine.connect() as connection:
        sending = connection.execute(select(func.count()).select_from(campaigns)
                                     .where(campaigns.c.status == "sending")).scalar()
        waiting = connection.execute(select(func.count()).select_from(campaigns)
                                     .where(campaigns.c.status == "scheduled")).scalar()
        assert connection.execute(select(func.count()).select_from(messages)).scalar() == RACERS
    assert (sending, waiting) == (limit, RACERS - limit)


def test_a_dispatch_run_freezes_collections_only_while_it_runs(engine, write_dataset):  # noqa: F811
    # gc.freeze() keeps full collections off the imports' objects during the passes; a
    # long-lived process (a test session, a code server) must collect them again after.
    set_organization(engine, "org-1", {"window_start": "00:00", "window_end": "24:00"})
    scheduled_campaigns(engine, write_dataset, 1, 3)
    frozen = []
    sleeping = ProofProvider()
    send_all = sleeping.accept_all

    def accept_all(*args, **kwargs):
        frozen.append(gc.get_freeze_count())
        return send_all(*args, **kwargs)

    sleeping.accept_all = accept_all
    run = dispatch_run(engine, sleeping, JsonLog(io.StringIO()), Settings())
    assert sum(report.handed_over for report in run.reports.values()) == 3
    assert frozen and frozen[0] > 0 and gc.get_freeze_count() == 0
