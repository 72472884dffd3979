"""Orders: one model for every platform, idempotent ingest, the status state machine, history.

An order arrives as a normalized order (``schemas.NormalizedOrder``, a TypedDict) through
``POST /api/v1/orders/ingest``, ``orderly ingest FILE`` or a shop's inbox (``channels/inbox.py``) and is
stored by ``ingest.py``, whose docstring gives its phases. What holds here:

- Exactly once: ``(shop_id, external_id)`` is unique. A newer version (``updated_at``) of a known order
  updates it under its lock, an older one is reported stale (``domain.against_stored``; what an update
  does, ``domain.decide_update``, follows the state machine). Platforms stamp versions to the second, so
  an order keeps a digest of the version it holds (``content_digest``): a version with the same stamp
  updates it when its content differs, unless it reports fewer units shipped.
- A bad order becomes (or renews) its row in ``ingest_rejections`` with every reason (``validation.py``,
  ``rejections.py``) and can be replayed; the rest of its batch goes on.
- An order missing part of its address enters, reserves and is held for it (``domain.address_hold``).
  One settled on the platform before the hub saw it (``domain.status_at_import``) enters cancelled,
  platform_fulfilled (Amazon FBA), shipped or returned and reserves nothing; one the seller shipped
  from the hub's shelves before the hub saw it (``shipped_from_stock``, said by every channel whose
  seller ships from the hub's shelves; a Shopify parcel only from the location the hub keeps) takes its
  units out of stock as shipped at once (``ingest.py: _book_left_unseen``), or names the shortfall to
  count; one whose goods left before its shop joined the hub takes nothing
  (``domain.left_the_hubs_shelves``).
- A return the platform reports is a line's ``returned`` units: an order whose every unit came back
  moves to returned (``domain.decide_update``, its history naming the platform's status) and never
  back; a part returned is noted and the order stays shipped. No stock comes back with a return: the
  goods wait for inspection in after-sales.
- An order that cannot be filled reserves nothing and is held ``out_of_stock``, naming every short line,
  or waits approved as a backorder when the stock rule is off (``domain.outcome``). A hold is released
  by a person with a note (``holds.py``) or when its condition clears: inventory announces
  ``stock_freed`` through the outbox and ``tasks.py`` releases waiting orders, first placed first served.
  A buyer's cancellation request holds the order (``cancel_request``) with its stock.
- Status follows ``domain.ALLOWED_TRANSITIONS``; every change is an ``order_events`` row. A cancellation
  releases the order's reservation, computed from its ledger rows. A line's ``shipped`` counts the hub's
  parcels and what the platform reports and never falls (``ingest.py: keep_shipped``).
- ``search.py`` finds an order by number, name or a word of it, email, phone or tracking number through
  hashed keys (``order_search_keys``); ``queries.py`` is the order list with its filters;
  ``corrections.py`` corrects an address and has the order reviewed again.
- The home page's figures come from rollups kept in the transaction of each change that moves them
  (``repository.add_figures``/``add_ship_figures``: one upsert in key order, after the stock's locks)
  and counted again by ``orderly orders rebuild-figures``: sales and the share approved on arrival per
  UTC quarter-hour (any zone's day is whole quarter-hours), shop and currency in ``order_figures``
  (ingest, cancellations); paid-to-shipped per UTC day and bin of minutes in ``ship_figures`` (ingest,
  the hub's shipments), to 5 minutes between an hour and a day (``domain.pay_to_ship_bin``), the hours
  at either end of the 30 days read from the orders (``queries.home_figures``).
"""
