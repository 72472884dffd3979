"""Fulfilment: an order's parcels (shipments) from the warehouse to the buyer, carriers, labels and
paperwork. It stands on orders, inventory and catalog; none of them knows it.

- ``domain.py`` (pure): a parcel's life and what it may carry: units the order has left to ship, from a
  warehouse where the order holds their stock. ``service.py`` makes, hands over (stock leaves, the order
  goes partly_shipped or shipped) and voids parcels, and records carriers' tracking events on their
  timeline (``record_tracking``; delivered parcels close their order).
- Warehouse work: paperwork rendered as PDF from plain data (``paperwork.py``, pure) for stored parcels
  (``printing.py``: a parcel's label and packing slip, label batches and pick lists in walking order,
  waves); scan to pack (``packing.py``); re-routing an order not yet shipped (``routing.py``).
- Carriers are plugins in ``carriers/`` (interface ``carriers/connector.py``, contract sheets in
  ``docs/carriers/``): accounts with sealed credentials, quotes and rate shopping
  (``carriers/domain.py: choose``), labels bought and voided through the jobs (``carriers/labels.py``),
  tracking polled or pushed (``carriers/tracking.py``).
- Handing a parcel over enqueues the write-back of its carrier and tracking number to the order's shop
  when its platform takes them (``Connector.writes_back``); ``tasks.py`` says how a try goes.
"""
