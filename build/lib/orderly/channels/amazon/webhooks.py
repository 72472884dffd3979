"""Amazon sends the hub no webhooks. Its order notifications (``ORDER_CHANGE``) travel through Amazon
SQS or EventBridge, not to an HTTP endpoint, and the hub does not subscribe to them (the platform's
contract leaves them unresearched). Orders come by polling and reconciliation only, and the webhook
endpoint refuses every delivery for an Amazon shop (404: the channel sends no webhooks)."""

from __future__ import annotations

#: Whether Amazon delivers order events to the hub (``Connector.webhooks``).
SENDS_WEBHOOKS = False
