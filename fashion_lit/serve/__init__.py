"""The classifier as a service: ``python -m fashion_lit serve`` (see :mod:`.command`).

``command`` parses the options and checks the checkpoint and the port, ``processes`` runs
the HTTP server processes, ``app`` is the FastAPI application each of them serves,
``inputs`` decodes a request's pictures, ``batching`` runs the network on concurrent
requests together, ``predictions`` writes the answer, ``examples`` holds the test
images of the page, and ``static/`` is the page itself.
"""
