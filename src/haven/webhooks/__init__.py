"""Outgoing webhooks: per-workspace endpoints that receive signed events (Standard Webhooks).

The consumer (`consumers.WEBHOOK_CONSUMER`) turns each event into one delivery row per
matching endpoint, inside the relay's transaction; `delivery.py` sends the due ones, with
retries, and keeps the log.
"""
