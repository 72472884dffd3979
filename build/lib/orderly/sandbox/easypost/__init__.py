"""A sandbox EasyPost account (API v2) built from ``docs/carriers/easypost.md``: rates, purchase with a
PDF label, refunds, trackers with the test codes and scripted scans, signed tracker webhooks, 429s and
faults; scriptable from Python (:class:`EasyPostStore`) and over HTTP (``/_sandbox``)."""

from orderly.sandbox.easypost.app import create_app
from orderly.sandbox.easypost.store import ApiError, EasyPostStore, Faults

__all__ = ["ApiError", "EasyPostStore", "Faults", "create_app"]
