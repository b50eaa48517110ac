"""A small PyTorch job with no seed: a conv net with cudnn.benchmark on,
trained from a DataLoader with two shuffling workers.  Prints a digest of
the final weights.  Plainly, every run differs; under detrun every run
prints the same digest.  Needs a CUDA GPU.  Used by docs/GUIDE.md.
"""
import hashlib
import torch
from torch.utils.data import DataLoader, TensorDataset

torch.backends.cudnn.benchmark = True
data = TensorDataset(torch.randn(512, 3, 32, 32), torch.randint(0, 10, (512,)))
loader = DataLoader(data, batch_size=64, shuffle=True, num_workers=2)
model = torch.nn.Sequential(
    torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
    torch.nn.Flatten(), torch.nn.Dropout(0.1), torch.nn.Linear(16, 10)).cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        opt.zero_grad()
        loss.backward()
        opt.step()
h = hashlib.sha256()
for p in model.parameters():
    h.update(p.detach().cpu().numpy().tobytes())
print(f"loss {loss.item():.6f}, weights {h.hexdigest()[:16]}")
