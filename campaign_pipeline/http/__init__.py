"""Plain helpers for HTTP clients (the portal's, the SMS providers'): when to
retry, and how fast to send. No HTTP library is imported here."""
