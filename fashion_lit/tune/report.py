"""What a study has found: the table of its trials, and the best trial as a config file.

``tune`` prints both when it ends, ``tune --report`` at any time. ``best.yaml`` in the
study folder is written from the study's record (any machine can write it), with how to
reproduce the trial in its header.
"""

import datetime
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from fashion_lit.io.files import replaced_atomically
from fashion_lit.metrics import MONITOR
from fashion_lit.tune.study import CONFIG, HOST, RUN_DIR, SEED, STOPPED_BY, THREADS

BEST_CONFIG = "best.yaml"


def trials_table(study: optuna.Study) -> str:
    """One row per trial: its state, value, epochs, parameters, seed, threads, host, time."""
    trials = study.get_trials(deepcopy=False)
    keys = list(dict.fromkeys(key for trial in trials for key in trial.params))
    header = [
        "trial",
        "state",
        MONITOR,
        "epochs",
        *short_names(keys),
        "seed",
        "threads",
        "host",
        "time",
    ]
    rows = [header]
    for trial in trials:
        rows.append(
            [
                str(trial.number),
                state_of(trial),
                "" if trial.value is None else f"{trial.value:.4f}",
                str(len(trial.intermediate_values)),
                *(format_value(trial.params.get(key, "")) for key in keys),
                str(trial.user_attrs.get(SEED, "")),
                str(trial.user_attrs.get(THREADS, "")),
                str(trial.user_attrs.get(HOST, "")),
                duration(trial),
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete trial with the highest value, if any trial is complete."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda trial: trial.value) if complete else None


def write_best_config(study: optuna.Study, study_dir: Path) -> Path | None:
    """Write the best trial's configuration to ``best.yaml`` in ``study_dir``; its path."""
    best = best_trial(study)
    if best is None:
        return None
    path = study_dir / BEST_CONFIG
    threads = best.user_attrs[THREADS]
    header = [
        f"The best trial of study {study.study_name!r}: trial {best.number}, best {MONITOR} "
        f"{best.value:.4f} over its epochs.",
        f"Its run folder: {best.user_attrs[RUN_DIR]} (on {best.user_attrs[HOST]}).",
        f"It ran with the seed below and {threads} torch thread{'s' if threads != 1 else ''}; "
        "to reproduce it:",
        f"  OMP_NUM_THREADS={threads} python -m fashion_lit fit --config {path}",
        "(a new run beside the trial's); to test the trial's own best checkpoint:",
        f"  python -m fashion_lit test --config {path} --ckpt_path best",
    ]
    with replaced_atomically(path) as temporary:
        temporary.write_text("".join(f"# {line}\n" for line in header) + best.user_attrs[CONFIG])
    return path


def summary(study: optuna.Study, study_dir: Path) -> str:
    """The table, the best trial's run folder, the ``best.yaml`` just written, and the
    commands that test and serve that trial's best checkpoint (``best.yaml`` names its
    run)."""
    lines = [trials_table(study), ""]
    best = best_trial(study)
    if best is None:
        lines.append("No trial has completed yet.")
        return "\n".join(lines)
    lines.append(
        f"Best: trial {best.number}, {MONITOR} {best.value:.4f}, run folder "
        f"{best.user_attrs[RUN_DIR]} (on {best.user_attrs[HOST]})."
    )
    path = write_best_config(study, study_dir)
    lines += [
        f"Its configuration: {path}",
        f"  next: python -m fashion_lit test --config {path} --ckpt_path best",
        f"        python -m fashion_lit serve --config {path} --ckpt_path best",
    ]
    return "\n".join(lines)


def short_names(keys: list[str]) -> list[str]:
    """Each key's last part (``max_lr``), or the whole key where two parts would clash."""
    last = [key.rsplit(".", 1)[-1] for key in keys]
    return [name if last.count(name) == 1 else key for name, key in zip(last, keys, strict=True)]


def state_of(trial: FrozenTrial) -> str:
    stopped = trial.user_attrs.get(STOPPED_BY)
    if trial.state == TrialState.FAIL and stopped:
        return f"FAIL ({stopped})"
    return trial.state.name


def format_value(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def duration(trial: FrozenTrial) -> str:
    if trial.datetime_start is None:
        return ""
    end = trial.datetime_complete or datetime.datetime.now()
    seconds = int((end - trial.datetime_start).total_seconds())
    return f"{seconds // 60}:{seconds % 60:02d}"
