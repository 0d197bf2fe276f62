"""Amazon SNS `Publish` to a phone number, through boto3 and the standard AWS environment.

SNS cannot list what it sent, so an uncertain attempt cannot be reconciled
(`can_reconcile = False`: the dispatcher records it `unknown`), and it reports
no delivery status through its API (delivery logs go to CloudWatch), so
it cannot be polled (`can_poll = False`) and an accepted message stays `sent`.

boto3 retries are off: botocore would otherwise send a publish again after a
read timeout, the one thing exactly-once forbids. The dispatcher retries
what surely created nothing.

Opt-outs: Publish to a number that replied STOP succeeds and delivers nothing,
so by default each send first asks `CheckIfPhoneNumberIsOptedOut` (true
means "you cannot publish SMS messages to it") and reports an opted-out
number as `Rejected("OptedOut", opt_out=True)` without publishing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from campaign_pipeline.common.masking import scrub
from campaign_pipeline.sending.providers.base import (
    Accepted,
    AccountFailure,
    CannotReconcile,
    ConfigurationError,
    DeliveryStatus,
    NotCreated,
    ProviderMessage,
    ProviderUnavailable,
    Rejected,
    SendOutcome,
    Uncertain,
)
from campaign_pipeline.sending.rules.senders import ALPHANUMERIC, PHONE, sender_kind

SENT_STATUS = "sent"  # SNS took it for delivery; nothing more is ever reported
OPT_OUT_CODE = "OptedOut"
_THROTTLED = {"Throttled", "Throttling", "ThrottlingException", "ThrottledException", "KMSThrottlingException",
              "TooManyRequestsException", "RequestLimitExceeded"}
_ACCOUNT = {"AuthorizationError", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
            "AccessDenied", "AccessDeniedException", "ExpiredToken", "IncompleteSignature", "InvalidSecurity",
            "OptInRequired"}
CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},  # never a second publish behind our back
    connect_timeout=5, read_timeout=15, max_pool_connections=32,
)


class SnsProvider:
    name = "aws-sns"
    can_reconcile = False
    can_poll = False

    def __init__(self, client: Any = None, check_opt_out: bool = True) -> None:
        self._sns = client if client is not None else boto3.client("sns", config=CONFIG)
        self.check_opt_out = check_opt_out

    @classmethod
    def from_env(cls, env: Mapping[str, str], config: Config = CONFIG, **options: Any) -> SnsProvider:
        """Region and endpoint from the standard AWS variables of `env`; credentials are
        boto3's usual chain (environment, profile, instance role)."""
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region and not env.get("AWS_PROFILE"):
            raise ConfigurationError("AWS_REGION (or AWS_DEFAULT_REGION) is not set (SMS_PROVIDER=aws-sns needs it)")
        endpoint = env.get("AWS_ENDPOINT_URL_SNS") or env.get("AWS_ENDPOINT_URL") or None
        session = boto3.session.Session(
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"), aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=env.get("AWS_SESSION_TOKEN"), region_name=region, profile_name=env.get("AWS_PROFILE"),
        )
        return cls(session.client("sns", config=CONFIG.merge(config), endpoint_url=endpoint), **options)

    def close(self) -> None:
        self._sns.close()

    def send(self, to: str, body: str, sender: str, status_callback: str | None = None) -> SendOutcome:
        if self.check_opt_out:
            try:
                opted_out = self._sns.check_if_phone_number_is_opted_out(phoneNumber=to)["isOptedOut"]
            except (ClientError, BotoCoreError) as exc:
                outcome = _classify(exc)
                # Nothing was published yet, whatever happened to the check.
                return outcome if isinstance(outcome, (Rejected, NotCreated)) else NotCreated(None, outcome.reason)
            if opted_out:
                return Rejected(OPT_OUT_CODE, "the number opted out of SMS at SNS", opt_out=True)
        try:
            answer = self._sns.publish(PhoneNumber=to, Message=body, MessageAttributes=_attributes(sender))
        except (ClientError, BotoCoreError) as exc:
            return _classify(exc)
        return Accepted(provider_id=answer["MessageId"], status=SENT_STATUS, segments=None)

    def find_message(self, to: str, body: str, sender: str, since: datetime,
                     exclude: Collection[str] = ()) -> ProviderMessage | None:
        raise CannotReconcile("aws-sns cannot list the messages it sent")

    def fetch_status(self, provider_id: str) -> DeliveryStatus | None:
        return None  # SNS reports delivery only to CloudWatch logs (can_poll is False: never asked)

    def list_opted_out(self) -> Iterator[str]:
        """Every number opted out at SNS (ListPhoneNumbersOptedOut, 100 a page)."""
        try:
            for page in self._sns.get_paginator("list_phone_numbers_opted_out").paginate():
                yield from page.get("phoneNumbers", [])
        except (ClientError, BotoCoreError) as exc:
            outcome = _classify(exc)
            raise ProviderUnavailable(f"aws-sns: ListPhoneNumbersOptedOut: {_reason(outcome)}") from None


def _attributes(sender: str) -> dict[str, dict[str, str]]:
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    kind = sender_kind(sender)
    if kind == ALPHANUMERIC and " " not in sender:  # SNS sender ids are letters and digits only
        attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender}
    elif kind == PHONE:
        attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String", "StringValue": sender}
    return attributes


def _classify(exc: Exception) -> SendOutcome:
    """The outcome of a failed call; raises AccountFailure for the account's own faults."""
    if isinstance(exc, NoCredentialsError):
        raise AccountFailure("aws-sns: no AWS credentials found (AWS_ACCESS_KEY_ID / AWS_PROFILE)") from None
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return NotCreated(None, f"connection not opened: {type(exc).__name__}")
    if isinstance(exc, (ReadTimeoutError, ConnectionClosedError)):
        return Uncertain(f"no answer: {type(exc).__name__}")
    if not isinstance(exc, ClientError):
        return Uncertain(f"{type(exc).__name__}")
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    if code in _ACCOUNT or status in (401, 403):
        raise AccountFailure(f"aws-sns: {code or status}: the AWS account or its credentials were refused") from None
    if code in _THROTTLED or status == 429:
        return NotCreated(None, f"throttled ({code or status})")
    if code == OPT_OUT_CODE:
        return Rejected(code, scrub(str(error.get("Message") or code)), opt_out=True)
    if 400 <= status < 500:
        return Rejected(code or str(status), scrub(str(error.get("Message") or code)))
    return Uncertain(f"{code or 'HTTP'} {status}".strip())


def _reason(outcome: SendOutcome) -> str:
    return getattr(outcome, "reason", None) or getattr(outcome, "message", "")
