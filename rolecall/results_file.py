"""A batch's results as files beside its runs: ``runs/<batch-id>/results.jsonl`` (and ``.csv``).

One line per row, in row order: inputs, run id, status, output, error, tokens, cost,
seconds. Written from the run store when the batch stops, so the file always
agrees with ``runs --batch`` (resumed rows included); values are redacted already.
"""
from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .batch import BatchResult, BatchRow


def line_of(row: BatchRow) -> dict[str, Any]:
    return {"row": row.number, "inputs": row.inputs, "run_id": row.run_id, "status": str(row.status),
            "output": row.output, "error": row.error, "tokens": row.usage.total_tokens,
            "cost": None if row.usage.cost is None else round(row.usage.cost, 6),
            "seconds": row.seconds}


def write_results(result: BatchResult, *, csv: bool = False) -> None:
    result.folder.mkdir(parents=True, exist_ok=True)
    lines = [line_of(row) for row in result.rows]
    (result.folder / "results.jsonl").write_text(
        "".join(json.dumps(line, default=str) + "\n" for line in lines), encoding="utf-8")
    if csv:
        _write_csv(result, lines)


def _write_csv(result: BatchResult, lines: list[dict[str, Any]]) -> None:
    inputs = list(dict.fromkeys(name for line in lines for name in line["inputs"]))
    columns = ["row", "run_id", "status", *inputs, "output", "error", "tokens", "cost", "seconds"]
    with (result.folder / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        for line in lines:
            # an input named like a result column (say `status`) gives way to the result
            writer.writerow({**line["inputs"], **{k: v for k, v in line.items() if k != "inputs"}})
