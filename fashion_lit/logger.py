"""The former home of :class:`~fashion_lit.loggers.RunLogger`: the ``config.yaml`` of runs
trained before it moved names ``fashion_lit.logger.RunLogger``, and still loads."""

from fashion_lit.loggers import RunLogger

__all__ = ["RunLogger"]
