"""Inventory: warehouses, the stock pool per SKU per warehouse, its ledger, reservation, bins, transfers.

- The rules are pure (``domain.py``): ``available = on_hand - reserved - safety``; ``allocate`` serves
  orders first placed, first served, each whole from the first warehouse (by priority, or as review and
  routing chose) that can fill every line, bundles as their components, from several when a split is
  allowed; ``sellable`` is the one figure of what can be sold (behind ``GET /stock`` and every push to a
  shop). No figure or movement exceeds ``domain.MAX_QUANTITY``.
- Every change of ``on_hand``, ``reserved`` or ``safety`` is one ``stock_ledger`` row with who and why,
  made through ``service.StockBook`` on levels locked for it (``repository.lock_levels``); the database
  refuses negative figures and reservations beyond what is on hand, and ``orderly stock verify
  [--repair]`` proves the levels equal the ledger. Ingest plans on levels read without a lock
  (``repository.read_levels``) and books on the locked ones.
- A transaction that changes stock enqueues ``stock_changed`` (the outbox) for the shops' listings and
  ``stock_freed`` for the orders waiting for stock.
- Bins: one pick bin per SKU and warehouse, walked by ``domain.walk_key`` (bins with a walk sequence by
  it, then the others in the natural order of their codes, SKUs without a bin last).
- Transfers between warehouses: held at the source as a reservation, shipped out, in transit while
  open, received in parts with short or over reasons; the transfer is locked before the stock it moves.
"""
