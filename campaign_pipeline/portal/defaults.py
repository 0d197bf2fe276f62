"""The portal reader's defaults and the API's page limit, in one place for the
client, the live source, the Dagster resource, the command line and the
simulator. Standard library only: the command line's parser reads them."""

CONCURRENCY = 16  # requests in flight
MAX_ATTEMPTS = 6  # tries of one request before the run fails
MAX_PAGE_LIMIT = 500  # the largest `limit` portal-api.yaml allows
