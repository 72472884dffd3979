"""The web console: pages served by the hub itself at ``/``, its assets under ``/static/``.

Why this stack: server-rendered Jinja2 pages with htmx swapping parts of them keep the hub one Python
process with the two-command setup (no Node build, no separate front end to deploy or keep in step
with the API) and keep pages fast: a page is one read-only transaction through the same read side the
API uses, rendered where the data is, and htmx (14 kB) updates a list without a client-side framework.
The browser libraries (htmx; Chart.js for the KPIs) are vendored from the npm registry at pinned
versions, with their licences (``scripts/vendor-assets``), and committed: nothing is loaded from the
internet at run time, no CDN and no outside fonts. Languages are Babel catalogues (``i18n/``:
English and Simplified Chinese), formatting (money, times) Babel's for the viewer's locale and zone.

Pages (``pages/``, a module per area sharing ``pages/common.py``) read in one read-only transaction and
change through the contexts' use cases, one transaction per post, refusals said on the page; who is
looking and what their role may open is ``viewer.py`` (a page or change the role may not is answered
with a page saying so, a 403, in the viewer's language: ``pages/common.py: not_for_role``); money and
times are formatted for the viewer by ``formatting.py``. The console imports contexts; none imports it.
Browser tests drive Chromium with Playwright (``tests/console/``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The console's stylesheet and vendored libraries, served at ``/static/``.
STATIC = Path(str(files("orderly.console") / "static"))
