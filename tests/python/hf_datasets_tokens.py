"""Opens a shard with Hugging Face datasets (Dataset.from_file: an Arrow IPC stream, memory-mapped)
and prints {"rows": N, "tokens": [[...], ...]} as JSON.

usage: hf_datasets_tokens.py SHARD
"""
import json
import sys

from datasets import Dataset

ds = Dataset.from_file(sys.argv[1])
print(json.dumps({"rows": ds.num_rows, "columns": ds.column_names, "tokens": [list(t) for t in ds["tokens"]]}))
