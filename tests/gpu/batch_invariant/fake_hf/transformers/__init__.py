"""A stand-in for the parts of Hugging Face transformers that
tests/gpu/batch_invariant/generate.py uses, so that its CPU smoke
(tests/it_gpu_scripts.sh, with this folder on PYTHONPATH) runs that code
where transformers is not installed.  Not a model: an embedding, one
linear layer and a greedy loop with generate()'s output fields."""
from types import SimpleNamespace

import torch
import torch.nn as nn

__version__ = "0.0-fake"


class GPT2Config:
    def __init__(self, n_layer=12, n_embd=768, n_head=12, vocab_size=50257,
                 n_positions=1024):
        self.n_layer, self.n_embd, self.n_head = n_layer, n_embd, n_head
        self.vocab_size, self.n_positions = vocab_size, n_positions
        self._attn_implementation = "fake"


class GPT2LMHeadModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def forward(self, input_ids, use_cache=True):
        h = self.emb(input_ids).cumsum(1)
        return SimpleNamespace(logits=self.head(h))

    def generate(self, input_ids, attention_mask=None, do_sample=False,
                 num_beams=1, max_new_tokens=8, min_new_tokens=0,
                 pad_token_id=None, return_dict_in_generate=False,
                 output_scores=False, output_logits=False):
        assert not do_sample and num_beams == 1
        assert attention_mask is None or attention_mask.shape == input_ids.shape
        seq, logits = input_ids, []
        for _ in range(max_new_tokens):
            step = self(seq).logits[:, -1, :].float()
            logits.append(step)
            seq = torch.cat([seq, step.argmax(-1, keepdim=True)], 1)
        if not return_dict_in_generate:
            return seq
        return SimpleNamespace(
            sequences=seq, scores=tuple(logits) if output_scores else None,
            logits=tuple(logits) if output_logits else None)
