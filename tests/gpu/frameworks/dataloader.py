"""Workload: an unseeded DataLoader: 2 worker processes, shuffle=True, and
augmentation with NumPy's legacy global generator and Python's random in
the workers.  Nothing is seeded anywhere.  Prints RESULT dataloader <hash
of every batch in order> and STEP_MS (ms per batch).

    python3 dataloader.py [workers]"""
import os, random, sys, time
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import result, step_ms


class Noisy(Dataset):
    def __len__(self):
        return 256

    def __getitem__(self, i):
        x = np.full(64, float(i), dtype=np.float32)
        x += np.random.standard_normal(64).astype(np.float32)  # legacy global
        if random.random() < 0.5:                             # Python random
            x = x[::-1].copy()
        return torch.from_numpy(x), torch.rand(1)             # torch in worker


if __name__ == "__main__":
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    dl = DataLoader(Noisy(), batch_size=16, shuffle=True, num_workers=workers)
    parts, times = [], []
    t = time.perf_counter()
    for x, y in dl:
        parts.append(x.numpy().tobytes() + y.numpy().tobytes())
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
    result("dataloader", b"".join(parts))
    step_ms(times)
