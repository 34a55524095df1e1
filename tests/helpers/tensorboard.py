"""A run's TensorBoard events, read back with TensorBoard's own tools."""

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def read_events(run: Path) -> EventAccumulator:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


def hparams_session(events: EventAccumulator) -> plugin_data_pb2.HParamsPluginData:
    content = events.PluginTagToContent("hparams")
    sessions = [plugin_data_pb2.HParamsPluginData.FromString(c) for c in content.values()]
    starts = [s for s in sessions if s.HasField("session_start_info")]
    experiments = [s for s in sessions if s.HasField("experiment")]
    assert starts and experiments
    return starts[-1].session_start_info, experiments[-1].experiment
