"""The classifier as a service: ``python -m fashion_lit serve`` (see :mod:`.command`).

``inputs`` decodes requests, ``api`` is the LitAPI around the network, ``examples`` the
test images for the page, ``app`` the LitServer with the page and JSON errors, ``static/``
the page itself.
"""
