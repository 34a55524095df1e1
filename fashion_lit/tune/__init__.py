"""``python -m fashion_lit tune``: hyperparameter search with Optuna over any config key.

``command`` reads the search file (``space``), checks it with the real ``fit`` parser
(``fit_parser``) and opens the study (``study``); ``runner`` runs trials as ``fit``
processes, each reporting through ``reporter`` and tied to its search by ``parent``;
``report`` tells what was found.
"""
