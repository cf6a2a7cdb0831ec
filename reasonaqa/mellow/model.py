"""Mellow: HTSAT + projection + SmolLM2, with the released checkpoint's module names.

Each clip becomes 1025 tokens (the clip embedding, then 1024 frames of class probabilities
through ``c2l``), projected to the language model's width, and the frames average-pooled by
8: 129 tokens. The language model reads
``[audio1 129][SEP][audio2 129][SEP][prompt, padded to 129][answer]`` where SEP is the
embedding of token 0, and the loss covers the answer tokens only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LlamaForCausalLM, PreTrainedTokenizerBase

from reasonaqa.mellow.config import ModelConfig
from reasonaqa.mellow.htsat import HTSAT, HTSATConfig
from reasonaqa.mellow.language_model import end_of_text_id, load_language_model

FRAME_POOL = 8


class AudioBase(nn.Module):
    """HTSAT plus the trainable classes-to-latent layer that turns frames into tokens."""

    def __init__(self, config: HTSATConfig) -> None:
        super().__init__()
        self.htsat = HTSAT(config)
        self.c2l = nn.Linear(config.num_classes, config.out_dim)

    def forward(self, wave: torch.Tensor, frozen: bool) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            out = self.htsat(wave)
        return torch.cat([out.latent[:, None], self.c2l(out.framewise)], dim=1)


class Projection(nn.Module):
    """Linear, GELU, linear, dropout, residual, LayerNorm (no biases in the linears)."""

    def __init__(self, d_in: int, d_out: int, dropout: float) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_in, d_out, bias=False)
        self.linear2 = nn.Linear(d_out, d_out, bias=False)
        self.layer_norm = nn.LayerNorm(d_out)
        self.drop = nn.Dropout(dropout)
        nn.init.xavier_uniform_(self.linear1.weight)
        nn.init.xavier_uniform_(self.linear2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.linear1(x)
        return self.layer_norm(first + self.drop(self.linear2(F.gelu(first))))


class AudioEncoder(nn.Module):
    def __init__(
        self, config: HTSATConfig, d_out: int, dropout: float, frozen: bool, htsat_mode: str
    ) -> None:
        super().__init__()
        self.frozen = frozen
        self.htsat_mode = htsat_mode
        self.base = AudioBase(config)
        self.projection = Projection(config.out_dim, d_out, dropout)
        if frozen:
            self.base.htsat.requires_grad_(False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> (B, 1 + frames / 8, d_out)."""
        tokens = self.projection(self.base(wave, self.frozen))
        frames = F.avg_pool1d(tokens[:, 1:].transpose(1, 2), FRAME_POOL).transpose(1, 2)
        return torch.cat([tokens[:, :1], frames], dim=1)

    def train(self, mode: bool = True) -> AudioEncoder:
        super().train(mode)
        # "train" (the reference): frozen weights, yet SpecAugment, DropPath and bn0 batch
        # statistics while training. "eval": none of these, bn0 keeps its statistics.
        if self.htsat_mode == "eval":
            self.base.htsat.eval()
        return self


class CaptionDecoder(nn.Module):
    def __init__(self, lm: LlamaForCausalLM) -> None:
        super().__init__()
        self.lm = lm


class Mellow(nn.Module):
    def __init__(
        self,
        htsat_config: HTSATConfig,
        lm: LlamaForCausalLM,
        sep_id: int,
        dropout: float = 0.5,
        freeze_audio: bool = True,
        htsat_mode: str = "train",
    ) -> None:
        super().__init__()
        self.sep_id = sep_id
        self.audio_encoder = AudioEncoder(
            htsat_config, lm.config.hidden_size, dropout, freeze_audio, htsat_mode
        )
        self.caption_decoder = CaptionDecoder(lm)

    @property
    def lm(self) -> LlamaForCausalLM:
        return self.caption_decoder.lm

    def prefix(
        self, wave1: torch.Tensor, wave2: torch.Tensor, prompt: torch.Tensor
    ) -> torch.Tensor:
        """Embeddings of ``[audio1][SEP][audio2][SEP][prompt]``: (B, 2 * 129 + 2 + prompt, d)."""
        embed = self.lm.get_input_embeddings()
        audio = self.audio_encoder(torch.cat([wave1, wave2]))
        first, second = audio.chunk(2)
        sep = embed(torch.full((prompt.shape[0], 1), self.sep_id, device=prompt.device))
        parts = [first, sep, second, sep, embed(prompt)]
        return torch.cat([p.to(sep.dtype) for p in parts], dim=1)

    def forward(
        self,
        wave1: torch.Tensor,
        wave2: torch.Tensor,
        prompt: torch.Tensor,
        answer: torch.Tensor,
        answer_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Mean cross-entropy over the real (unpadded) answer tokens."""
        prefix = self.prefix(wave1, wave2, prompt)
        inputs = torch.cat([prefix, self.lm.get_input_embeddings()(answer)], dim=1)
        hidden = self.lm.model(inputs_embeds=inputs, use_cache=False).last_hidden_state
        # Position t predicts token t + 1: the answer is predicted from one step earlier.
        start = prefix.shape[1] - 1
        predicted = hidden[:, start : start + answer.shape[1]][answer_mask]
        logits = self.lm.lm_head(predicted).float()
        return F.cross_entropy(logits, answer[answer_mask])

    @torch.no_grad()
    def generate(
        self,
        wave1: torch.Tensor,
        wave2: torch.Tensor,
        prompt: torch.Tensor,
        max_new_tokens: int,
    ) -> list[list[int]]:
        """Greedy decoding with the KV cache; each row stops at the end-of-text token."""
        prefix = self.prefix(wave1, wave2, prompt)
        out = self.lm(inputs_embeds=prefix, use_cache=True, logits_to_keep=1)
        cache = out.past_key_values
        token = out.logits[:, -1].argmax(-1)
        done = torch.zeros_like(token, dtype=torch.bool)
        generated: list[torch.Tensor] = []
        embed = self.lm.get_input_embeddings()
        for _ in range(max_new_tokens):
            generated.append(token)
            done |= token == self.sep_id
            if bool(done.all()):
                break
            out = self.lm(
                inputs_embeds=embed(token[:, None]), past_key_values=cache, use_cache=True
            )
            cache = out.past_key_values
            token = out.logits[:, -1].argmax(-1)
        rows = torch.stack(generated, dim=1).tolist()
        return [row[: row.index(self.sep_id)] if self.sep_id in row else row for row in rows]


def build_mellow(config: ModelConfig, tokenizer: PreTrainedTokenizerBase) -> Mellow:
    """A Mellow with fresh audio weights and the configured language model (no checkpoints)."""
    htsat = HTSATConfig() if config.size == "full" else HTSATConfig.tiny()
    lm = load_language_model(config.language_model, tokenizer)
    return Mellow(
        htsat,
        lm,
        sep_id=end_of_text_id(tokenizer),
        dropout=config.projection_dropout,
        freeze_audio=config.freeze_audio_encoder,
        htsat_mode=config.audio_encoder_mode,
    )
