"""The provider's callbacks over HTTP (`campaign-cli webhooks`): status callbacks
and inbound messages, authenticated by signature; the rules they apply live in
sending/delivery.py and sending/replies.py."""
