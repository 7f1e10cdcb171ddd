"""Entry points: `python -m experiments.run --config=configs/NAME.py`."""
