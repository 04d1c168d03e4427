"""Reading the number where it stands: cells and fields are located first, then read;
tight crops keep their reading; every reading path (API, CLI, pool, service) locates."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import seqocr
from seqocr.boxes import iou
from seqocr.checkpoint import Checkpoint
from seqocr.cli import main
from seqocr.data.cell_suite import cell_suite
from seqocr.data.cells import CellSynth
from seqocr.data.suites import suite
from seqocr.errors import SeqocrError
from seqocr.evaluate.metrics import match_boxes
from seqocr.locating import (
    MAX_PIXELS,
    TRAIN_HEIGHT,
    Region,
    StringLocator,
    looks_tight,
    median_level,
    reading_order,
    regions_of,
    working_image,
)
from seqocr.models.locator import LOCATOR_CONFIG, STRIDE, Locator

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def cells(test_digits):
    return cell_suite(test_digits, 24)


@pytest.fixture(scope="module")
def cell_file(tmp_path_factory, cells):
    path = tmp_path_factory.mktemp("cells") / "cell.png"
    Image.fromarray(cells[0][0]).save(path)
    return path


def test_training_cells_are_a_pure_function_of_seed_and_index(data_dir):
    synth = CellSynth(seed=3)
    a, b, other = synth.sample(5), synth.sample(5), synth.sample(6)
    assert np.array_equal(a.image, b.image) and a.boxes == b.boxes and a.texts == b.texts
    assert not np.array_equal(a.image, other.image) if a.image.shape == other.image.shape else True
    for cell in (a, other, synth.sample(7)):
        h, w = cell.image.shape[:2]
        assert cell.boxes and all(0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h for x0, y0, x1, y1 in cell.boxes)
        assert all(t.isdigit() for t in cell.texts)


def test_the_cells_suite_is_fixed_and_its_boxes_hold_the_digits(test_digits, cells):
    again = cell_suite(test_digits, 4)
    assert all(np.array_equal(x[0], y[0]) and x[1:] == y[1:] for x, y in zip(cells, again, strict=False))
    for image, text, (x0, y0, x1, y1) in cells:
        assert text.isdigit() and 1 <= len(text) <= 8
        inside = image[int(y0) : int(y1), int(x0) : int(x1)].astype(float).mean(axis=2)
        outside_mean = image.astype(float).mean()
        assert inside.min() < outside_mean - 40  # dark ink inside the box


def test_boxes_come_from_connected_regions_to_a_fraction_of_a_cell():
    probability = np.zeros((20, 40), np.float32)
    probability[2:6, 4:20] = 1.0  # a string on the first line
    probability[1, 4:20] = 0.25  # a quarter of the cell above is inside it too
    probability[12:16, 25:35] = 0.9  # a second line
    probability[12:16, 2:10] = 0.9  # the second line's first string
    probability[18, 38] = 0.9  # a speck
    regions = regions_of(probability, scale=0.5, size=(320, 160))
    boxes = [r.box for r in regions]
    to_input = STRIDE / 0.5
    assert len(boxes) == 3  # the speck is dropped
    assert boxes[0] == pytest.approx((4 * to_input, 1.75 * to_input, 20 * to_input, 6 * to_input))
    assert [b[0] for b in boxes[1:]] == sorted(b[0] for b in boxes[1:])  # the second line, left to right
    assert boxes[1][1] > boxes[0][3]


def test_reading_order_is_by_lines_then_left_to_right():
    from seqocr.locating import Region

    right, left, below = (Region((50, 0, 90, 20), 1, 1), Region((0, 2, 40, 22), 1, 1), Region((0, 40, 30, 60), 1, 1))
    assert reading_order([below, right, left]) == [left, right, below]


def test_the_padding_level_is_the_median_of_the_image_exactly():
    rng = np.random.default_rng(0)
    for height, width in [(1, 1), (1, 2), (7, 9), (150, 200), (31, 64)]:  # odd and even counts
        grey = rng.integers(90, 256, size=(height, width), dtype=np.uint8)
        assert median_level(grey) == float(np.median(grey.astype(np.float32) / 255.0))


def test_the_working_image_fits_the_locator_and_refuses_pages_over_its_budget():
    pixels, scale = working_image(Image.new("L", (200, 150), 255))
    assert pixels.shape[0] % 32 == 0 and pixels.shape[1] % 32 == 0
    assert scale == pytest.approx(224 / 150)  # reading: strings larger than in training (160 / 150)
    assert working_image(Image.new("L", (200, 150), 255), fit=TRAIN_HEIGHT)[1] == pytest.approx(160 / 150)
    side = int(MAX_PIXELS**0.5) + 2
    with pytest.raises(SeqocrError, match=f"page.png: too large for the locator .*limit {MAX_PIXELS:,}"):
        working_image(Image.new("L", (side, side), 255), "page.png")


def test_the_locator_has_a_text_map_at_a_quarter_resolution_and_learns():
    torch.manual_seed(0)
    model = Locator(LOCATOR_CONFIG.stem, tuple(c for c, _, _ in LOCATOR_CONFIG.stages))
    images = torch.rand(2, 1, 64, 96)
    targets = torch.zeros(2, 1, 16, 24)
    targets[:, :, 4:8, 5:15] = 1.0
    images[:, :, 16:32, 20:60] = 0.0  # the "string" is dark
    assert model(images).shape == (2, 1, 16, 24)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    weights = torch.ones_like(targets)
    first = float(model.loss_of(images, targets, weights).detach())
    for _ in range(30):
        loss = model.loss_of(images, targets, weights)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.5 * first
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_the_bundled_locator_finds_the_number_in_cells_fields_and_photos(cells):
    locator = StringLocator.load("locator")
    found = locator.locate([Image.fromarray(image) for image, _, _ in cells])
    ious = [match_boxes([box], [r.box for r in regions])[0] for (_, _, box), regions in zip(cells, found, strict=True)]
    assert sum(i >= 0.5 for i in ious) >= 0.9 * len(cells)


def test_cells_are_read_with_their_box_and_tight_crops_as_before(cells, test_digits):
    reader = seqocr.load("digits")  # locate="auto" by default for a digit model
    assert reader.locate == "auto"
    predictions = reader.predict([image for image, _, _ in cells])
    right = [p.text == text for p, (_, text, _) in zip(predictions, cells, strict=True)]
    assert sum(right) >= 0.8 * len(cells)
    unlocated = reader.locating("off", None).predict([image for image, _, _ in cells])
    assert sum(p.text == t for p, (_, t, _) in zip(unlocated, cells, strict=True)) < 0.5 * len(cells)
    boxed = [(p, box) for p, (_, _, box), ok in zip(predictions, cells, right, strict=True) if ok]
    assert all(p.box is not None and iou(p.box, box) > 0.3 for p, box in boxed)
    tight = [image for image, _ in suite("default_1_10", test_digits, 40)]
    assert [p.text for p in reader.predict(tight)] == [p.text for p in reader.locating("off", None).predict(tight)]


def test_nothing_found_answers_empty_with_no_box_and_all_gives_an_empty_list(test_digits):
    reader = seqocr.load("digits", locate="on")
    blank = np.full((150, 200), 255, np.uint8)
    p = reader.predict(blank)
    assert (p.text, p.confidence, p.box) == ("", 0.0, None)
    assert reader.read_every_string([(blank, "blank")]) == [[]]
    string = suite("default_1_10", test_digits, 1)[0][0]
    alone = reader.predict(string)
    beside = reader.predict([blank, string, blank])  # the blanks take no place in the string's batch
    assert [(q.text, q.box) for q in beside] == [("", None), (alone.text, alone.box), ("", None)]
    assert beside[1].confidence == pytest.approx(alone.confidence, abs=1e-6)


def test_every_string_comes_in_reading_order_with_its_box(test_digits):
    from seqocr.data.cell_suite import _write

    rng = np.random.default_rng(0)
    row = np.full((90, 420, 3), 245, np.uint8)
    texts = []
    for x in (20, 230):
        picks = rng.integers(0, len(test_digits), size=4)
        texts.append("".join(str(int(test_digits.labels[i])) for i in picks))
        strip = _write(test_digits.images[picks], rng)
        ink = np.asarray(Image.fromarray((strip * 255).astype(np.uint8)).resize((150, 40)), np.float32) / 255
        row[25:65, x : x + 150] = (245 * (1 - ink[..., None])).astype(np.uint8)
    row[:, 205:208] = 40  # a table rule between them
    strings = seqocr.load("digits").read_every_string([(row, "row")])[0]
    assert [s.text for s in strings] == texts
    assert strings[0].box[2] < strings[1].box[0]


def test_the_cli_gives_the_box_every_string_and_a_picture(cell_file, cells, tmp_path, capsys):
    assert main(["predict", "--json", str(cell_file)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["text"] == cells[0][1] and iou(tuple(answer["box"]), cells[0][2]) > 0.3
    assert main(["predict", "--json", "--all", str(cell_file)]) == 0
    strings = json.loads(capsys.readouterr().out)["strings"]
    assert cells[0][1] in [s["text"] for s in strings] and all(len(s["box"]) == 4 for s in strings)
    picture = tmp_path / "shown.png"
    assert main(["predict", "--show", str(picture), str(cell_file)]) == 0
    assert Image.open(picture).size[0] >= 320
    assert main(["predict", "--locate", "off", "--all", str(cell_file)]) == 1
    assert "--all lists the strings the locator finds" in capsys.readouterr().err


def test_the_locator_trains_saves_and_resumes_with_the_projects_command(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--arch", "locator", "--out", str(out), "--samples-per-epoch", "32", "--val-samples", "6",
            "--batch-size", "8", "--workers", "0", "--no-progress"]  # fmt: skip
    assert main([*args, "--epochs", "1"]) == 0
    checkpoint = Checkpoint.load(out / "last.pt")
    assert checkpoint.model.arch == "locator" and checkpoint.resume["state"]["epoch"] == 1
    assert isinstance(StringLocator.load(out / "best.pt").model, Locator)
    saved = json.loads((out / "config.json").read_text())  # resuming reads the run's own config:
    saved["train"]["epochs"] = 2  # widen it as a user would
    (out / "config.json").write_text(json.dumps(saved))
    assert main(["train", "--resume", "--out", str(out), "--no-progress"]) == 0  # the run knows it is a locator's
    assert [row["epoch"] for row in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())] == [1, 2]


def test_a_tight_crop_looks_tight_and_a_cell_with_a_band_does_not(test_digits, cells):
    assert all(looks_tight(Image.fromarray(image)) for image, _ in suite("default_1_10", test_digits, 20))
    banded = [image for k, (image, _, _) in enumerate(cells) if k % 4 == 0]  # register cells: a scanner band
    assert not any(looks_tight(Image.fromarray(image)) for image in banded)


def test_the_locator_is_not_a_reader(capsys, cell_file):
    assert main(["predict", "--model", "locator", str(cell_file)]) == 1
    assert "a locator finds strings, it does not read them" in capsys.readouterr().err
    assert main(["models"]) == 0
    assert any(line.startswith("locator\tlocator\t") for line in capsys.readouterr().out.splitlines())


def test_located_crops_are_written_as_a_labelled_folder_to_fine_tune_on(tmp_path, capsys):
    from seqocr.data.folder import read_folder

    assert main(["data", "crops", "--out", str(tmp_path / "crops"), "-n", "12"]) == 0
    samples = read_folder(tmp_path / "crops").samples
    assert len(samples) >= 6 and all(text.isdigit() for _, text in samples)
    reader = seqocr.load("digits", locate="off")
    right = sum(p.text == text for p, (_, text) in zip(reader.predict([p for p, _ in samples]), samples, strict=True))
    assert right >= 0.5 * len(samples)  # each crop holds its string


def test_a_located_crop_is_kept_only_when_its_cut_holds_the_whole_string():
    from seqocr.train.located_crops import holds

    string = (40.0, 20.0, 140.0, 60.0)  # 40 px high: 2 px of slack
    assert holds((34, 14, 146, 66), string)
    assert holds((41, 21, 139, 59), string)  # a pixel of ink lost at each edge is still the string
    assert not holds((60, 14, 146, 66), string)  # the first digit cut off
    assert not holds((34, 14, 146, 50), string)  # the feet cut off


def test_auto_keeps_the_whole_image_reading_of_a_page_over_the_locators_budget(test_digits):
    image, text = suite("default_1_10", test_digits, 1)[0]
    page = Image.new("L", (4000, 3100), 255)  # 12.4 MP: over the locator's budget, under the reader's
    page.paste(Image.fromarray(image).resize((image.shape[1] * 10, image.shape[0] * 10)), (100, 100))
    assert seqocr.load("digits").predict(page).text == text
    with pytest.raises(SeqocrError, match="too large for the locator"):
        seqocr.load("digits", locate="on").predict(page)


class _WithDecoy:
    """The bundled locator, plus a decoy "string" over blank paper holding more text
    probability than anything it found: a caption or a "$" can outweigh one small digit."""

    def __init__(self, locator: StringLocator, decoy: tuple[float, float, float, float]):
        self.locator, self.decoy = locator, decoy

    def locate(self, images, names=None):
        return [[Region(self.decoy, 0.9, 1e6), *found] for found in self.locator.locate(images, names)]


def test_an_unsure_main_string_gives_way_to_a_surer_one_found_beside_it(test_digits):
    image, text = suite("default_1_10", test_digits, 3)[2]
    page = Image.new("L", (image.shape[1] + 260, image.shape[0] + 60), 255)
    page.paste(Image.fromarray(image).convert("L"), (230, 30))
    reader = seqocr.load("digits", locate="on")
    plain = reader.predict(page)
    assert plain.text == text and plain.confidence >= 0.5
    decoyed = reader.locating("on", _WithDecoy(reader.locator, (10.0, 10.0, 150.0, 50.0)))
    main = decoyed.locator.locate([page])[0][0]
    assert main.box == (10.0, 10.0, 150.0, 50.0) and decoyed.read_prepared([decoyed.prepare(page)])[0].text == ""
    p = decoyed.predict(page)  # the blank main string reads "" at confidence 0: the digit beside it is the answer
    assert (p.text, p.box) == (plain.text, plain.box)
    assert p.confidence == pytest.approx(plain.confidence, abs=1e-6)
