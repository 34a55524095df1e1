"""The names under which a run logs its metrics, defined once.

The module logs them, the checkpoints and a search are chosen by one of them, the
logger charts them, and the benchmarks read them back: each asks here.
"""

TRAIN_LOSS = "train/loss"
TRAIN_LOSS_STEP = "train/loss_step"
TRAIN_ACC = "train/acc"
TRAIN_LR = "train/lr"
VAL_LOSS = "val/loss"
VAL_ACC = "val/acc"
VAL_ACC_BEST = "val/acc_best"
TEST_LOSS = "test/loss"
TEST_ACC = "test/acc"

#: What the best checkpoint of a run, and the best trial of a search, are chosen by.
MONITOR = VAL_ACC
