"""Cross-cutting pieces every bounded context uses: settings, database, errors, money, time."""
