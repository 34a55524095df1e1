"""``python -m fashion_lit tune``: hyperparameter search with Optuna over any config key.

- ``space``: the search file (keys, ranges, sampler, pruner), checked before any trial;
- ``fit_parser``: the real ``fit`` parser, which checks keys and writes trial configs;
- ``study``: the study's storage and what each trial records;
- ``runner``: trials as ``fit`` processes, in parallel, up to a total, stopped cleanly;
- ``reporter``: the Lightning callback in each trial that reports ``val/acc`` and prunes;
- ``report``: the table of trials and the best trial's config;
- ``command``: the command line.
"""
