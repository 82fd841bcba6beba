"""The benchmark suite (``make bench``): speed and memory, reported as ratios against baselines."""
