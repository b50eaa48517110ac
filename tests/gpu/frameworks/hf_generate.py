"""Workload: Hugging Face generate() on a GPT-2 model initialised from a
config (random weights, no download) with nothing seeded: no
torch.manual_seed, no transformers.set_seed.  Parts:
  hf_sample  do_sample=True, top_k=50 (torch.multinomial)
  hf_beam    num_beams=4, no sampling (depends only on the random init)
Prints RESULT lines and STEP_MS (ms per generated token, sampling)."""
import os, sys, time
import torch
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.utils import logging as hf_logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import result, step_ms

hf_logging.set_verbosity_error()
cfg = GPT2Config(n_layer=2, n_head=4, n_embd=128, vocab_size=1000, n_positions=256)
model = GPT2LMHeadModel(cfg).cuda().eval()
prompt = torch.tensor([[11, 22, 33, 44, 55]], device="cuda")
new = 32
with torch.no_grad():
    torch.cuda.synchronize()
    t = time.perf_counter()
    s = model.generate(prompt, do_sample=True, top_k=50, max_new_tokens=new,
                       min_new_tokens=new, pad_token_id=0)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t
    bm = model.generate(prompt, num_beams=4, do_sample=False, max_new_tokens=new,
                        min_new_tokens=new, pad_token_id=0)
result("hf_sample", s.cpu().numpy().tobytes())
result("hf_beam", bm.cpu().numpy().tobytes())
step_ms([dt / new])
