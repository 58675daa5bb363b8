"""Row 7: `alexnet predict` and `alexnet neighbours` on the bundled model (issue 11's speed targets).

Three measurements, each against a baseline in the same process:

1. Model time of one prediction (decode the file, mean-subtract and crop, forward, softmax, top-5)
   against the forward pass alone, the floor. Target: under 150 ms.
2. Import cost of the command line: ``alexnet_cli`` plus ``alexnet.predict`` in a fresh interpreter,
   against ``import torch`` alone, and a check that Streamlit, plotly and matplotlib stay unimported.
3. A neighbours query once the training set's fc7 vectors are cached (4,000 x 4,096): one image's
   fc7 vector plus the nearest-6 search, and the search alone, against ``torch.cdist`` + ``topk``
   on the same vectors. Target: under 50 ms.

    .venv/bin/python benchmarks/bench_predict.py                 # threads 1 and 2
    .venv/bin/python benchmarks/bench_predict.py --threads 1 --reps 3 --train-images 4000
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import _common
import numpy as np
import torch
from PIL import Image

from alexnet.data import decode_image_file
from alexnet.neighbours import fc7_features, nearest
from alexnet.predict import load_classifier, probabilities, top_classes

IMPORT_PROBE = (
    "import sys, time; t = time.perf_counter(); import {modules}; dt = time.perf_counter() - t; "
    "bad = [m for m in ('streamlit', 'plotly', 'matplotlib') if m in sys.modules]; print(dt, ','.join(bad))"
)


def import_seconds(modules: str, reps: int) -> tuple[float, str]:
    times, bad = [], ""
    for _ in range(reps):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE.format(modules=modules)], capture_output=True,
                             text=True, check=True, cwd=_common.REPO_ROOT).stdout.split()
        times.append(float(out[0]))
        bad = out[1] if len(out) > 1 else ""
    return _common.median(times), bad


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], reps=9)
    parser.add_argument("--train-images", type=int, default=4000, help="cached fc7 vectors searched (default 4000)")
    parser.add_argument("--checkpoint", help="model to time (default: the bundled reference)")
    args = parser.parse_args()
    print(_common.machine_line())
    classifier = load_classifier(args.checkpoint)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        image_path = Path(tmp) / "photo.jpg"
        Image.fromarray(rng.integers(0, 255, (375, 500, 3), dtype=np.uint8)).save(image_path, quality=90)
        g = torch.Generator().manual_seed(0)
        train = torch.rand(args.train_images, 4096, generator=g).relu() * 5
        sq_norms = train.pow(2).sum(1)  # cached beside the vectors by alexnet.neighbours.training_features
        image = decode_image_file(image_path).unsqueeze(0)
        x = classifier.preset(image)
        query = fc7_features(classifier, image)
        rows = []
        for threads in _common.thread_counts(args.threads):
            torch.set_num_threads(threads)

            def predict_one():
                img = decode_image_file(image_path).unsqueeze(0)
                return top_classes(classifier, probabilities(classifier, img), 5)

            def forward_only():
                with torch.inference_mode():
                    return classifier.model(x)

            def neighbours_query():
                return nearest(train, fc7_features(classifier, image), 6, sq_norms=sq_norms)

            def cdist_query():
                return torch.cdist(fc7_features(classifier, image), train).topk(6, largest=False)

            def search_only():
                return nearest(train, query, 6, sq_norms=sq_norms)

            def cdist_search_only():
                return torch.cdist(query, train).topk(6, largest=False)

            assert torch.equal(nearest(train, query, 6)[1], torch.cdist(query, train).topk(6, largest=False)[1])
            times = _common.interleaved({"forward": forward_only, "predict": predict_one,
                                         "cdist": cdist_query, "ours": neighbours_query,
                                         "cdist search": cdist_search_only, "search": search_only}, reps=args.reps)
            med = {k: _common.median(v) * 1e3 for k, v in times.items()}
            rows.append([threads, f"{med['forward']:.0f}", f"**{med['predict']:.0f}**",
                         f"{med['predict'] / med['forward']:.2f}x", f"{med['cdist']:.1f}", f"**{med['ours']:.1f}**",
                         f"{med['cdist'] / med['ours']:.2f}x", f"{med['cdist search']:.1f}", f"**{med['search']:.1f}**",
                         f"{med['cdist search'] / med['search']:.2f}x"])
    print(f"\nmedians of {args.reps} interleaved repetitions, ms; {args.train_images} cached fc7 vectors")
    _common.print_table(["threads", "forward only ms", "predict one image ms", "predict / forward",
                         "cdist query ms", "neighbours query ms", "cdist / ours",
                         "cdist search ms", "search ms (vector given)", "cdist / ours (search)"], rows)
    torch_s, _ = import_seconds("torch", max(1, args.reps // 3))
    cli_s, bad = import_seconds("alexnet_cli, alexnet.predict", max(1, args.reps // 3))
    print(f"\nimport torch: {torch_s * 1e3:.0f} ms; import alexnet_cli + alexnet.predict: {cli_s * 1e3:.0f} ms "
          f"({cli_s / torch_s:.2f}x torch alone); GUI/plotting modules imported: {bad or 'none'}")


if __name__ == "__main__":
    main()
