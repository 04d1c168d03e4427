"""Fine-tuning on small labelled sets: the default recipe against training from scratch.

    python benchmarks/finetune.py --set captcha100 [--recipe default|scratch] [--minutes M]
    python benchmarks/finetune.py --set printed800 [--recipe default|scratch] [--minutes M]

Sets, each a fixed function of its name:
- captcha100: 100 of the 832 captcha_images_v2 images (seed 0) to train on, the other
  732 to test on.
- printed800: 800 digit strings printed in Pillow's bundled font (a style the bundled
  `digits` model, trained on handwriting, has not seen), 1-10 digits, with spacing,
  grey levels, blur and noise drawn at random; 500 more such strings to test on.
Recipes, run as a user types them:
- default: `seqocr train --init digits --data DIR` (captcha100: `--preset captcha`, which
  also starts from `digits`), with the recipe's own defaults for small sets.
- scratch: `seqocr train --data DIR --init ""` in the same time budget.
The starting model's zero-shot accuracy on the test images is reported beside (where it
reads the set's charset). Results accumulate in benchmarks/results/finetune.json, one
entry per set and recipe.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from common import RESULTS, write_results
from seqocr import load
from seqocr.data.captcha import captcha_dir
from seqocr.evaluate.metrics import summarize

SEED = 0


def captcha100(root: Path) -> tuple[Path, Path]:
    images = sorted(captcha_dir().glob("*.png"))
    order = np.random.default_rng(SEED).permutation(len(images))
    train, test = root / "train", root / "test"
    for folder, picks in ((train, order[:100]), (test, order[100:])):
        folder.mkdir(parents=True)
        for i in picks:
            (folder / images[i].name).symlink_to(images[i].resolve())
    return train, test


def printed_string(rng: np.random.Generator) -> tuple[Image.Image, str]:
    text = "".join(str(d) for d in rng.integers(0, 10, size=int(rng.integers(1, 11))))
    font = ImageFont.load_default(size=int(rng.integers(18, 40)))
    spacing = rng.uniform(-0.05, 0.5) * font.size
    widths = [font.getbbox(c)[2] for c in text]
    width = int(sum(widths) + spacing * (len(text) - 1) + font.size)
    image = Image.new("L", (max(width, 8), int(font.size * 1.6)), int(rng.integers(170, 256)))
    draw, x = ImageDraw.Draw(image), font.size / 2
    ink = int(rng.integers(0, 90))
    for char, w in zip(text, widths, strict=True):
        draw.text((x, font.size * 0.2 + rng.normal(0, 1)), char, fill=ink, font=font)
        x += w + spacing
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    pixels = np.asarray(image, dtype=np.float32) + rng.uniform(0, 12) * rng.standard_normal(image.size[::-1])
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), text


def printed800(root: Path) -> tuple[Path, Path]:
    folders = root / "train", root / "test"
    for folder, count, seed in ((folders[0], 800, SEED), (folders[1], 500, SEED + 1)):
        folder.mkdir(parents=True)
        rng = np.random.default_rng(seed)
        rows = ["file\ttext"]
        for i in range(count):
            image, text = printed_string(rng)
            image.save(folder / f"{i:04d}.png")
            rows.append(f"{i:04d}.png\t{text}")
        (folder / "labels.tsv").write_text("\n".join(rows) + "\n")
    return folders


SETS = {"captcha100": captcha100, "printed800": printed800}


def test_images(folder: Path) -> tuple[list[Path], list[str]]:
    labels = folder / "labels.tsv"
    if labels.is_file():
        rows = [line.split("\t") for line in labels.read_text().splitlines()[1:]]
        return [folder / name for name, _ in rows], [text for _, text in rows]
    paths = sorted(folder.glob("*.png"))
    return paths, [p.stem for p in paths]


def accuracy(model: str | Path, paths: list[Path], truths: list[str]) -> dict:
    predictions = load(model).predict(paths)
    summary = summarize(truths, [p.text for p in predictions])
    return {"accuracy": summary["accuracy"], "accuracy_95ci": summary["accuracy_95ci"], "cer": summary["cer"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), required=True)
    parser.add_argument("--recipe", choices=("default", "scratch"), default="default")
    parser.add_argument("--minutes", type=float, help="time budget (default: the recipe's own)")
    parser.add_argument("--extra", default="", help="more `seqocr train` options, e.g. '--ema 0.999'")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix=f"seqocr-{args.set}-"))
    train_dir, test_dir = SETS[args.set](root)
    run = root / "run"
    command = ["seqocr", "train", "--data", str(train_dir), "--out", str(run)]
    command += ["--preset", "captcha"] if args.set == "captcha100" else ["--init", "digits"]
    if args.recipe == "scratch":
        command += ["--init", ""]
    if args.minutes:
        command += ["--max-minutes", str(args.minutes)]
    command += args.extra.split()
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "seqocr", *command[1:], "--no-progress"], check=True)
    minutes = (time.monotonic() - started) / 60
    paths, truths = test_images(test_dir)
    result = {
        "train_command": " ".join(command),
        "train_images": len(test_images(train_dir)[0]),
        "test_images": len(paths),
        "wall_minutes": minutes,
        "epochs": sum(1 for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()),
        **accuracy(run, paths, truths),
    }
    if args.set == "printed800":
        result["zero_shot_digits"] = accuracy("digits", paths, truths)
    path = RESULTS / "finetune.json"
    results = json.loads(path.read_text())["results"] if path.is_file() else {}
    results[f"{args.set}/{args.recipe}{'+' + args.extra.replace(' ', '') if args.extra else ''}"] = result
    write_results("finetune", {"results": results})
    zero = result.get("zero_shot_digits")
    print(
        f"{args.set} {args.recipe}: {100 * result['accuracy']:.2f}% of {len(paths)} held-out images "
        f"after {minutes:.1f} min" + (f" (digits zero-shot: {100 * zero['accuracy']:.2f}%)" if zero else "")
    )


if __name__ == "__main__":
    main()
