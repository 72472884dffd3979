"""A sandbox MyDHL API (DHL Express) built from ``docs/carriers/dhl-express.md``: rates, shipments with
a base64 PDF label, tracking of its own waybills through scripted checkpoints, pickup cancelling,
DHL's problem bodies, 429s and faults; scriptable from Python (:class:`DhlStore`) and over HTTP
(``/_sandbox``)."""

from orderly.sandbox.dhl_express.app import create_app
from orderly.sandbox.dhl_express.store import DhlStore, Faults, ProblemError

__all__ = ["DhlStore", "Faults", "ProblemError", "create_app"]
