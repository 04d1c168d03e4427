"""Few labels: accuracy against the number of labelled images, by recipe, and the review loop.

    python benchmarks/fewshot.py [--sets captcha generated writers] [--sizes 25 50 100 200 1000]
                                 [--recipes default scratch old alone half] [--minutes 15] [--review] [--name fewshot]
    python benchmarks/fewshot.py --plot [--name fewshot fewshot-review]   # docs/fewshot.png

Sets, each a fixed function of its name: a pool to label from and images to test on.
- captcha: captcha_images_v2 (seed 0): the first 600 of a shuffle are the pool, the
  other 232 the test images.
- generated: 4-6 characters of [0-9a-z] in the `grid` captcha style
  (src/seqocr/data/text_synth.py), which no bundled model is trained on: 1,200 to
  label, 500 to test.
- writers: 4-8 digits in other writers' conventions (src/seqocr/data/writers_suite.py,
  seeds of its own): 1,200 to label, 2,000 to test (the first 500 are the 500 it had
  before), so that a one-point margin between recipes near 97% can be told from chance.
Recipes, each run as a user types it (the command is in the JSON):
- default: `seqocr train --data DIR` (from the bundled reader that best covers the labels);
- scratch: the default's network from random weights (`--init none --sequence conv --hidden 192`);
- old: the folder recipe before it started from a bundled model (`--init none`: a BiLSTM
  from scratch);
- alone: the default without the synthetic strings beside the labelled images
  (`--synthetic 0`), to see what they add;
- half: half as many synthetic strings as labelled images (`--synthetic 0.5`).
`--review` simulates a person using `seqocr review`: the true labels are hidden until
asked; in rounds of 25 the images the current model is least sure of are labelled, the
default recipe trains on all labelled so far (from its usual start, with the same time
budget as every other run, so the 100-label model differs from random picks' only in
which images were labelled), and the next round asks with the new model, up to 100
labels. Random picks of 100 and 200 (the default recipe at those sizes) are its
comparison. Results accumulate in benchmarks/results/NAME.json, whose "commands" are
the benchmark commands that added them; each run lists the test images it reads wrong,
and "paired" compares the default with each other recipe at the same size image by image.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from common import RESULTS, ROOT, invocation, write_results
from seqocr import load
from seqocr.data.captcha import captcha_dir
from seqocr.data.mnist import load_split
from seqocr.data.text_synth import TextSynth, TextSynthConfig
from seqocr.data.writers_suite import writers_string
from seqocr.evaluate.metrics import summarize

SEED = 0
ROUND = 25  # labels asked per round of the review loop
RECIPES = {
    "default": [],
    "scratch": ["--init", "none", "--sequence", "conv", "--hidden", "192"],
    "old": ["--init", "none"],
    "alone": ["--synthetic", "0"],
    "half": ["--synthetic", "0.5"],
}

Labelled = list[tuple[Path, str]]


def captcha_set(root: Path) -> tuple[Labelled, Labelled]:
    images = sorted(captcha_dir().glob("*.png"))
    order = np.random.default_rng(SEED).permutation(len(images))
    pairs = [(images[i], images[i].stem) for i in order]
    return pairs[:600], pairs[600:]


def rendered(sample: Callable[[int], tuple[np.ndarray, str]], count: int, folder: Path) -> Labelled:
    """Samples 0..count-1 written into `folder` as PNG files, with their texts."""
    folder.mkdir(parents=True)
    pairs = []
    for i in range(count):
        image, text = sample(i)
        Image.fromarray(image).save(folder / f"{i:05d}.png")
        pairs.append((folder / f"{i:05d}.png", text))
    return pairs


def generated_set(root: Path) -> tuple[Labelled, Labelled]:
    pool, test = (TextSynth(TextSynthConfig(seed=seed, styles=("grid",))) for seed in (11, 12))
    return rendered(pool.sample, 1200, root / "pool"), rendered(test.sample, 500, root / "test")


def writers_set(root: Path) -> tuple[Labelled, Labelled]:
    digits = load_split("test")
    pool, test = (lambda i, seed=seed: writers_string(digits, seed, i) for seed in (21, 22))
    return rendered(pool, 1200, root / "pool"), rendered(test, 2000, root / "test")


SETS = {"captcha": captcha_set, "generated": generated_set, "writers": writers_set}


def labelled_folder(folder: Path, pairs: Labelled) -> Path:
    """`pairs` as a labelled folder (links to the images and a labels.tsv)."""
    folder.mkdir(parents=True)
    rows = ["file\ttext"]
    for i, (path, text) in enumerate(pairs):
        name = f"{i:05d}{path.suffix}"
        (folder / name).symlink_to(path.resolve())
        rows.append(f"{name}\t{text}")
    (folder / "labels.tsv").write_text("\n".join(rows) + "\n")
    return folder


def train(data: Path, out: Path, recipe: list[str], minutes: float, init: str | None = None) -> tuple[str, float]:
    """Train as a user types it; the command and the wall-clock minutes."""
    command = ["seqocr", "train", "--data", str(data), "--out", str(out), "--max-minutes", f"{minutes:g}", *recipe]
    if init:
        command += ["--init", init]
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "seqocr", *command[1:], "--no-progress"], check=True, cwd=ROOT)
    return " ".join(command), (time.monotonic() - started) / 60


def accuracy(model: str | Path, test: Labelled) -> dict:
    """The model's figures on `test`, with the test images it reads wrong (their indices),
    so that two recipes can be compared image by image."""
    predictions = load(model).predict([path for path, _ in test])
    summary = summarize([text for _, text in test], [p.text for p in predictions])
    wrong = [i for i, ((_, text), p) in enumerate(zip(test, predictions, strict=True)) if p.text != text]
    return {
        "accuracy": summary["accuracy"],
        "accuracy_95ci": summary["accuracy_95ci"],
        "cer": summary["cer"],
        "wrong": wrong,
    }


def paired(first: dict, second: dict) -> dict:
    """Two recipes on the same test images: how many each reads that the other misses, and
    the two-sided exact sign test's p-value on those (McNemar's exact test)."""
    a, b = set(first["wrong"]), set(second["wrong"])
    only_first, only_second = len(b - a), len(a - b)  # read right by one recipe alone
    n, k = only_first + only_second, min(only_first, only_second)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return {"only_first_right": only_first, "only_second_right": only_second, "p_value": p}


def review_loop(pool: Labelled, test: Labelled, root: Path, minutes: float, total: int) -> dict:
    """Labels asked for by the least-confident rule, a round at a time, with the model of
    the round before (the default recipe's start first)."""
    labelled: Labelled = []
    model: str | Path | None = None
    rounds = []
    while len(labelled) < total:
        waiting = [pair for pair in pool if pair not in labelled]
        reader = load(model) if model is not None else None
        if reader is None:  # the first round: the start the default recipe would choose
            from seqocr.charset import Charset
            from seqocr.train.initial_weights import choose_start

            reader = load(choose_start(Charset.from_labels([t for _, t in pool]))[0])
        confidences = [p.confidence for p in reader.predict([path for path, _ in waiting])]
        asked = [waiting[i] for i in np.argsort(confidences)[:ROUND]]
        labelled += asked
        data = labelled_folder(root / f"review-{len(labelled)}", labelled)
        command, spent = train(data, root / f"review-run-{len(labelled)}", RECIPES["default"], minutes)
        model = root / f"review-run-{len(labelled)}"
        rounds.append({"labels": len(labelled), "command": command, "wall_minutes": spent, **accuracy(model, test)})
    return {"rounds": rounds, **rounds[-1]}


def plot(results: dict[str, dict], out: Path) -> None:
    """One panel per set of each results file: held-out accuracy against labels, a line per
    recipe, the review loop dashed."""
    from matplotlib.figure import Figure

    panels = [(name, set_name, recipes) for name, r in results.items() for set_name, recipes in r["sets"].items()]
    fig = Figure(figsize=(4.2 * len(panels), 3.6))
    for ax, (name, set_name, recipes) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        for recipe, sizes in recipes.items():
            if recipe == "review":
                xs = [r["labels"] for r in sizes["rounds"]]
                ax.plot(xs, [100 * r["accuracy"] for r in sizes["rounds"]], "k--o", label="review loop")
                continue
            xs = sorted(int(n) for n in sizes)
            label = f"{recipe}, random picks" if "review" in recipes else recipe
            ax.plot(xs, [100 * sizes[str(n)]["accuracy"] for n in xs], "-o", label=label)
        runs = [run for r in recipes.values() for run in r.get("rounds", r.values())]
        budgets = sorted({run["command"].split("--max-minutes ")[1].split()[0] for run in runs})
        ax.set(xscale="log", xlabel="labelled images", ylabel="held-out accuracy (%)", ylim=(0, 100), xlim=(20, 1250))
        ax.set_xticks([25, 50, 100, 200, 1000], ["25", "50", "100", "200", "1000"])
        ax.minorticks_off()
        ax.set_title(f"{set_name} ({Path(name).name}; {'/'.join(budgets)} min a run)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=sorted(SETS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[25, 50, 100, 200, 1000])
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=["default", "scratch", "old"])
    parser.add_argument("--minutes", type=float, default=15.0, help="each run's time budget")
    parser.add_argument("--review", action="store_true", help="also simulate the review loop up to 100 labels")
    parser.add_argument("--name", nargs="+", default=["fewshot"], help="results go to benchmarks/results/NAME.json")
    parser.add_argument("--plot", action="store_true", help="draw docs/fewshot.png from the results and stop")
    args = parser.parse_args()

    if args.plot:
        results = {name: json.loads((RESULTS / f"{name}.json").read_text()) for name in args.name}
        plot(results, ROOT / "docs" / "fewshot.png")
        return
    if len(args.name) > 1:
        parser.error("one --name to write to (several only with --plot)")
    args.name = args.name[0]
    path = RESULTS / f"{args.name}.json"
    results = json.loads(path.read_text()) if path.is_file() else {"sets": {}}
    this = invocation()  # results accumulate: each command that added some
    results["commands"] = [*(c for c in results.get("commands", []) if c != this), this]
    for name in args.sets:
        root = Path(tempfile.mkdtemp(prefix=f"seqocr-fewshot-{name}-"))
        pool, test = SETS[name](root)
        done = results["sets"].setdefault(name, {})
        for recipe in args.recipes:
            for size in [n for n in args.sizes if n <= len(pool)]:
                data = labelled_folder(root / f"{recipe}-{size}", pool[:size])
                command, spent = train(data, root / f"{recipe}-{size}-run", RECIPES[recipe], args.minutes)
                figures = {"command": command, "wall_minutes": spent, **accuracy(root / f"{recipe}-{size}-run", test)}
                done.setdefault(recipe, {})[str(size)] = figures
                print(f"{name} {recipe} {size} labels: {100 * figures['accuracy']:.2f}% of {len(test)}", flush=True)
                if recipe != "default" and "wrong" in done.get("default", {}).get(str(size), {}):
                    versus = paired(done["default"][str(size)], figures)
                    results.setdefault("paired", {})[f"{name} default-{recipe} {size}"] = versus
                    print(f"  default against {recipe}: {versus}", flush=True)
                write_results(args.name, {k: v for k, v in results.items() if k not in ("command", "machine")})
        if args.review:
            done["review"] = review_loop(pool, test, root, args.minutes, 4 * ROUND)
            print(f"{name} review loop, 100 labels: {100 * done['review']['accuracy']:.2f}%", flush=True)
            write_results(args.name, {k: v for k, v in results.items() if k not in ("command", "machine")})


if __name__ == "__main__":
    main()
