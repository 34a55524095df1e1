"""The classifier as a service: ``python -m fashion_lit serve`` (see :mod:`.command`).

``command`` checks and starts, ``processes`` runs the servers of the ``app``; a request's
pictures go through ``inputs``, ``batching`` and ``predictions``; ``connections`` and
``hosts`` keep strangers from stalling the service or reaching it under another name;
``examples`` and ``static/`` make the page.
"""
