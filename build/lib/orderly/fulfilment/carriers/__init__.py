"""Carriers as plugins (``connector.py``), their accounts, rate shopping (``domain.py``), and buying and
voiding labels through the jobs (``service.py``, ``tasks`` in ``fulfilment/tasks.py``)."""
