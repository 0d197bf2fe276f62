"""campaign_pipeline: portal jobs to SMS campaign datasets.

The Dagster definitions load on first use of `defs`, so that the command line and
the core library import neither Dagster nor anything else heavy.
"""


def __getattr__(name: str):
    if name == "defs":
        from campaign_pipeline.definitions import defs

        return defs
    raise AttributeError(f"module 'campaign_pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    return ["defs"]
