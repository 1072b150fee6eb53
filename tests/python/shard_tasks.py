"""Reads a shard's per-segment `task` column as pyarrow and Hugging Face datasets see it and prints
{"pyarrow": {"type": ..., "tasks": [[...], ...]}, "datasets": {"feature": ..., "tasks": [[...], ...]}}
as JSON.

usage: shard_tasks.py SHARD
"""
import json
import sys

import pyarrow as pa
from datasets import Dataset

with pa.memory_map(sys.argv[1]) as source:
    table = pa.ipc.open_stream(source).read_all()
ds = Dataset.from_file(sys.argv[1])
print(
    json.dumps(
        {
            "pyarrow": {"type": str(table.schema.field("task").type), "tasks": table.column("task").to_pylist()},
            "datasets": {"feature": repr(ds.features["task"]), "tasks": [list(t) for t in ds["task"]]},
        }
    )
)
