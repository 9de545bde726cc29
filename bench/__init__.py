"""The benchmark: imageconv's figures measured against baselines in the same run.

Run `python -m bench` (or `python -m bench --smoke` for tiny sizes).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
