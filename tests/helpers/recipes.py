"""Training options the tests share: the tuned recipe's kind, on the command line."""

#: SGD with Nesterov momentum and weight decay, a one-cycle schedule (which also cycles
#: the momentum) and label smoothing, as configs/tuned.yaml trains.
TUNED_RECIPE = [
    "--model.optimizer=torch.optim.SGD",
    "--model.optimizer.lr=0.1",
    "--model.optimizer.momentum=0.9",
    "--model.optimizer.nesterov=true",
    "--model.optimizer.weight_decay=5e-4",
    "--model.lr_scheduler=torch.optim.lr_scheduler.OneCycleLR",
    "--model.lr_scheduler.max_lr=0.1",
    "--model.label_smoothing=0.1",
]
