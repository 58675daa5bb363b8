"""One-off recovery: the curve of a run that was stopped before it finished, read back from its log.

The committed run was started by a version of alexnet/relu_tanh.py that wrote a run into
results.json only when the run ended; later versions also keep the curve of an unfinished run
(``"in_progress"``). For the runs stopped at the deadline, this script reads the per-epoch lines
that `alexnet relu-tanh` printed to its log (error rates to 3 decimals, elapsed seconds) and adds
them to ``"in_progress"`` of a results file, so that ``alexnet relu-tanh --report-only`` shows them
as "interrupted" runs. Nothing else in the file changes.

    python alexnet/results/relu_tanh/recover_from_log.py LOG RESULTS_JSON
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LINE = re.compile(
    r"\[\s*[\d.]+%\s+(?P<t>\d+)s\] \[(?P<cond>[\w.-]+)\] (?P<act>relu|tanh) lr=(?P<lr>[\d.e-]+) seed=(?P<seed>\d+) "
    r"epoch (?P<epoch>\d+): running error (?P<run>[\d.]+)(?:, post-epoch (?P<post>[\d.]+))?, "
    r"loss (?P<loss>[\d.]+), (?P<ips>\d+) img/s"
)


def recover(log: Path, results: Path) -> list[str]:
    data = json.loads(results.read_text())
    runs: dict[str, dict] = {}
    last_t: dict[str, int] = {}
    prev_t = None
    for line in log.read_text().splitlines():
        m = LINE.search(line)
        if not m:
            continue
        t = int(m["t"])
        prefix = "baseline" if m["cond"] == "baseline" or "-lr-" in m["cond"] else m["cond"]
        key = f"{prefix}|run|{m['act']}|{m['seed']}|{float(m['lr']):g}"
        if int(m["epoch"]) == 1 or key not in runs:
            runs[key] = {"running_error": [], "post_epoch_error": [], "loss": [], "seconds": []}
            last_t[key] = prev_t if prev_t is not None and prev_t < t else None
        c = runs[key]
        c["running_error"].append(float(m["run"]))
        c["post_epoch_error"].append(float(m["post"]) if m["post"] else None)
        c["loss"].append(float(m["loss"]))
        # Seconds from the log's elapsed time; for a first logged epoch, from its training images/s.
        n_train = data["data"]["train_images"]
        c["seconds"].append(float(t - last_t[key]) if last_t[key] is not None else round(n_train / int(m["ips"]), 1))
        last_t[key] = t
        prev_t = t
    added = []
    data.setdefault("in_progress", {})
    for key, curve in runs.items():
        if key in data["units"]:
            continue  # finished: results.json has the exact curve
        data["in_progress"][key] = {**curve, "diverged": False, "stopped": "interrupted", "test_error": None,
                                    "recovered_from_log": str(log.name)}
        added.append(f"{key}: {len(curve['running_error'])} epochs")
    tmp = results.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(results)
    return added


if __name__ == "__main__":
    for item in recover(Path(sys.argv[1]), Path(sys.argv[2])):
        print("recovered", item)
