"""``predict`` writes one row per input to CSV or JSON; image files are predicted like tensors."""

import csv
import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback
from PIL import Image, ImageOps

from fashion_lit.callbacks.prediction_writer import PredictionWriter, in_input_order, write_rows
from fashion_lit.data import CLASSES, FashionMNISTDataModule
from fashion_lit.io.files import OutputError
from fashion_lit.module import ImageClassifier
from fashion_lit.network import NeuralNetwork
from tests.helpers.cli import expect_cli_error, quiet_trainer
from tests.helpers.picture_fuzz import declaring, encoded
from tests.helpers.tiny_data import TINY_TEST, tiny_images

HEADER = [
    "index",
    "predicted",
    "predicted_name",
    "probability",
    "actual",
    "actual_name",
    "top3",
    "top3_names",
    "top3_probabilities",
]


@pytest.fixture
def model_pth(workdir) -> str:
    """Seeded weights of the tutorial's network, saved as the tutorial saves them."""
    torch.manual_seed(0)
    torch.save(NeuralNetwork().state_dict(), "model.pth")
    return "model.pth"


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as rows:
        return list(csv.DictReader(rows))


def no_output_written() -> bool:
    return not list(Path(".").rglob("predictions.*")) and not list(Path(".").rglob("*.part*"))


def test_rows_follow_the_input_order_with_top3_and_the_true_label(run_cli, tiny_args, model_pth):
    run_cli(
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        "--data.predict_indices=[5, 0, 3]",
        "--prediction.output=out.csv",
    )
    rows = read_csv("out.csv")
    assert list(rows[0]) == HEADER
    assert [row["index"] for row in rows] == ["5", "0", "3"]
    _, labels = tiny_images(TINY_TEST, seed=2)
    for row in rows:
        top3 = [int(c) for c in row["top3"].split(";")]
        probabilities = [float(p) for p in row["top3_probabilities"].split(";")]
        assert top3[0] == int(row["predicted"]) and len(set(top3)) == 3
        assert row["top3_names"].split(";") == [CLASSES[c] for c in top3]
        assert probabilities == sorted(probabilities, reverse=True)
        assert float(row["probability"]) == probabilities[0]
        assert row["predicted_name"] == CLASSES[int(row["predicted"])]
        assert int(row["actual"]) == labels[int(row["index"])]


def test_whole_test_set_by_default_into_the_run_folder(run_cli, tiny_args, model_pth, capsys):
    run_cli("predict", *tiny_args, f"--ckpt_path={model_pth}")
    rows = read_csv("lightning_logs/version_0/predictions.csv")
    assert [int(row["index"]) for row in rows] == list(range(TINY_TEST))
    out = capsys.readouterr().out
    assert "Predicted:" not in out  # too many to print
    assert f"Wrote {TINY_TEST} predictions to lightning_logs/version_0/predictions.csv" in out


@pytest.mark.parametrize("option", ["--prediction.format=json", "--prediction.output=out.json"])
def test_json_holds_the_same_rows_with_lists(run_cli, tiny_args, model_pth, option):
    run_cli(
        "predict", *tiny_args, f"--ckpt_path={model_pth}", "--data.predict_indices=[2, 1]", option
    )
    path = "out.json" if "output" in option else "lightning_logs/version_0/predictions.json"
    rows = json.loads(Path(path).read_text())
    assert [row["index"] for row in rows] == [2, 1]
    assert list(rows[0]) == HEADER
    assert len(rows[0]["top3"]) == 3 and rows[0]["top3"][0] == rows[0]["predicted"]


def test_tutorials_line_from_model_pth(run_cli, tiny_args, model_pth, capsys):
    run_cli("predict", *tiny_args, f"--ckpt_path={model_pth}", "--data.predict_indices=[0]")
    _, labels = tiny_images(TINY_TEST, seed=2)
    torch.manual_seed(0)
    image = torch.from_numpy(tiny_images(TINY_TEST, seed=2)[0][:1]).float().div(255)
    predicted = NeuralNetwork().eval()(image.unsqueeze(1)).argmax(1).item()
    lines = capsys.readouterr().out.splitlines()
    assert f'Predicted: "{CLASSES[predicted]}", Actual: "{CLASSES[labels[0]]}"' in lines


def write_picture_variants(folder: Path, indices: list[int]) -> list[str]:
    """Each test image as a PNG: as stored, upscaled, RGB, and dark on white."""
    images, _ = tiny_images(TINY_TEST, seed=2)
    folder.mkdir()
    paths = []
    for i in indices:
        picture = Image.fromarray(images[i], mode="L")
        variants = {
            "plain": picture,
            "upscaled": picture.resize((84, 84), Image.Resampling.NEAREST),
            "rgb": picture.convert("RGB"),
            "on_white": ImageOps.invert(picture)
            .convert("RGB")
            .resize((56, 56), Image.Resampling.NEAREST),
        }
        for name, variant in variants.items():
            variant.save(folder / f"{i:03d}_{name}.png")
            paths.append(str(folder / f"{i:03d}_{name}.png"))
    return sorted(paths)


def test_image_files_are_predicted_like_the_tensors_they_show(run_cli, tiny_args, model_pth):
    indices = [0, 1, 7]
    paths = write_picture_variants(Path("pictures"), indices)
    run_cli(
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        f"--data.predict_indices={indices}",
        "--prediction.output=tensors.csv",
    )
    run_cli(
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        "--data.predict_paths=[pictures]",
        "--prediction.output=files.csv",
    )
    by_index = {int(row["index"]): row for row in read_csv("tensors.csv")}
    rows = read_csv("files.csv")
    assert [row["path"] for row in rows] == paths
    assert "actual" not in rows[0] and "index" not in rows[0]
    for row in rows:
        expected = by_index[int(Path(row["path"]).name[:3])]
        assert row["predicted"] == expected["predicted"]
        assert row["top3_probabilities"] == expected["top3_probabilities"]


def test_image_files_need_no_data_set(run_cli, tiny_args, model_pth, capsys):
    write_picture_variants(Path("pictures"), [0])
    run_cli(
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        "--data.predict_paths=[pictures/000_plain.png]",
    )
    assert not Path("data").exists()
    assert 'pictures/000_plain.png: Predicted: "' in capsys.readouterr().out


def expect_nothing_written(run_cli, capsys, *args) -> str:
    err = expect_cli_error(run_cli, capsys, *args)
    assert no_output_written()
    return err


def test_missing_image_fails_clearly_writing_nothing(run_cli, tiny_args, model_pth, capsys):
    err = expect_nothing_written(
        run_cli,
        capsys,
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        "--data.predict_paths=[gone.png]",
    )
    assert "error: gone.png: no such file or folder" in err and "Traceback" not in err


def test_file_that_is_not_an_image_fails_clearly_writing_nothing(
    run_cli, tiny_args, model_pth, capsys
):
    Path("notes.png").write_text("shopping list")
    err = expect_nothing_written(
        run_cli,
        capsys,
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        "--data.predict_paths=[notes.png]",
    )
    assert "error: notes.png is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture." in err


def test_a_folder_with_bad_pictures_fails_naming_each_writing_nothing(
    run_cli, tiny_args, model_pth, capsys
):
    write_picture_variants(Path("pictures"), [0])
    Path("pictures/notes.png").write_text("shopping list")
    Path("pictures/cut.png").write_bytes(Path("pictures/000_upscaled.png").read_bytes()[:60])
    small = encoded(Image.new("L", (8, 8)), "PNG")
    Path("pictures/huge.png").write_bytes(declaring("huge.png", small, 20000, 20000))
    err = expect_nothing_written(
        run_cli,
        capsys,
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        "--data.predict_paths=[pictures]",
    )
    assert "error: 3 pictures cannot be used; fix or remove them, then run again:\n" in err
    assert "  - Cannot read the image pictures/cut.png: " in err
    assert "  - pictures/huge.png is too large (Image size (400000000 pixels) exceeds" in err
    assert "  - pictures/notes.png is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture.\n" in err
    assert "Traceback" not in err


def test_unreadable_image_fails_clearly_writing_nothing(run_cli, tiny_args, model_pth, capsys):
    write_picture_variants(Path("pictures"), [0])
    Path("cut.png").write_bytes(Path("pictures/000_upscaled.png").read_bytes()[:60])
    err = expect_nothing_written(
        run_cli,
        capsys,
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        "--data.predict_paths=[pictures, cut.png]",
    )
    assert "error: Cannot read the image cut.png" in err


def test_index_out_of_range_fails_clearly_writing_nothing(run_cli, tiny_args, model_pth, capsys):
    err = expect_nothing_written(
        run_cli,
        capsys,
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        f"--data.predict_indices=[0, {TINY_TEST}]",
    )
    assert f"error: data.predict_indices [{TINY_TEST}] are out of range" in err


def test_failed_write_keeps_the_previous_file_and_leaves_no_part(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("previous\n")
    with pytest.raises(ValueError, match="unexpected"):  # fails after the first row
        write_rows([{"index": 0}, {"index": 1, "unexpected": 2}], path, "csv")
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]


def test_rows_of_several_ranks_are_merged_once_in_input_order():
    rank0 = [(0, {"index": 10}), (2, {"index": 12}), (4, {"index": 14})]
    rank1 = [(1, {"index": 11}), (3, {"index": 13}), (4, {"index": 14})]  # 4 padded twice
    assert [row["index"] for row in in_input_order(rank0 + rank1)] == [10, 11, 12, 13, 14]


class BatchCounter(Callback):
    """Counts the batches predicted."""

    def __init__(self) -> None:
        self.batches = 0

    def on_predict_batch_start(self, *args) -> None:
        self.batches += 1


def predict_a_picture(writer: PredictionWriter, counter: BatchCounter) -> None:
    """``predict`` of one picture file, written by ``writer``, in the current folder."""
    Image.fromarray(tiny_images(1, seed=2)[0][0]).save("boot.png")
    trainer = quiet_trainer(callbacks=[writer, counter])
    trainer.predict(
        ImageClassifier(), datamodule=FashionMNISTDataModule(predict_paths=["boot.png"])
    )


def test_an_existing_output_is_refused_before_anything_is_predicted(workdir):
    Path("out.csv").write_text("precious\n")
    counter = BatchCounter()
    with pytest.raises(OutputError) as error:
        predict_a_picture(PredictionWriter(output="out.csv"), counter)
    assert str(error.value) == (
        "--prediction.output out.csv already exists; pass --prediction.overwrite true to "
        "replace it, or name another file."
    )
    assert counter.batches == 0
    assert Path("out.csv").read_text() == "precious\n"


def test_an_output_that_cannot_be_written_is_refused_before_anything_is_predicted(workdir):
    Path("results").write_text("a file where a folder should be\n")
    counter = BatchCounter()
    with pytest.raises(OutputError) as error:
        predict_a_picture(PredictionWriter(output="results/out.csv"), counter)
    assert str(error.value) == (
        "--prediction.output results/out.csv cannot be written: results is a file, not a folder."
    )
    assert counter.batches == 0


def test_overwrite_replaces_an_existing_output(run_cli, tiny_args, model_pth):
    Path("out.csv").write_text("old\n")
    run_cli(
        "predict",
        *tiny_args,
        f"--ckpt_path={model_pth}",
        "--data.predict_indices=[0]",
        "--prediction.output=out.csv",
        "--prediction.overwrite=true",
    )
    assert [row["index"] for row in read_csv("out.csv")] == ["0"]


def test_the_default_predictions_file_is_replaced_as_before(workdir):
    Path("predictions.csv").write_text("from an earlier run\n")  # the run folder: . here
    counter = BatchCounter()
    predict_a_picture(PredictionWriter(), counter)
    assert counter.batches == 1
    assert [row["path"] for row in read_csv("predictions.csv")] == ["boot.png"]
