"""Tiny random-weight pipelines of each model family, built in code: no hub, no download.

``build(family, directory)`` makes the family's pipeline from small configs (the sizes
diffusers' own tests use in tests/pipelines/wan and tests/pipelines/ltx), with a text
encoder from a small config and a byte-level tokenizer made in memory, and saves it with
``save_pretrained``: the directory is then diffusers-format weights that the engine loads
exactly as it loads real ones (``from_pretrained(..., local_files_only=True)``).

It imports torch, so it runs in the GPU venv: the studio's tests call
``python -m tests.fakes.tiny_diffusers FAMILY DIRECTORY`` (or ``all ROOT``) there. The
tiny pipelines make 32x32 or 64x64 frames in well under a second a step on the CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

TEXT_DIM = 32  # the text encoder's width, which each transformer's text input matches
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"


def tokenizer() -> Any:
    """A byte-level tokenizer (one token per UTF-8 byte) with T5's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {PAD: 0, EOS: 1, UNK: 2} | {c: i + 3 for i, c in enumerate(sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK, model_max_length=512
    )


def vocab_size() -> int:
    return 3 + 256


def umt5() -> Any:
    from transformers import UMT5Config, UMT5EncoderModel

    return UMT5EncoderModel(UMT5Config(**_t5_sizes()))


def t5() -> Any:
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(**_t5_sizes()))


def _t5_sizes() -> dict[str, Any]:
    return {
        "vocab_size": vocab_size(),
        "d_model": TEXT_DIM,
        "d_kv": 8,
        "d_ff": 37,
        "num_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
        "dropout_rate": 0.0,
    }


def wan_transformer(channels: int) -> Any:
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=channels,
        out_channels=channels,
        text_dim=TEXT_DIM,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )


def wan_scheduler() -> Any:
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )


def wan21() -> Any:
    """Wan 2.1 T2V-1.3B's shape: a 16-channel VAE (8x spatial), one transformer."""
    import torch
    from diffusers import AutoencoderKLWan, WanPipeline

    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    return WanPipeline(
        tokenizer=tokenizer(),
        text_encoder=umt5(),
        vae=vae,
        scheduler=wan_scheduler(),
        transformer=wan_transformer(16),
    )


def wan22() -> Any:
    """Wan 2.2 TI2V-5B's shape: a 48-channel patched VAE (16x spatial), expand_timesteps."""
    import torch
    from diffusers import AutoencoderKLWan, WanPipeline

    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=48,
        in_channels=12,
        out_channels=12,
        is_residual=True,
        patch_size=2,
        latents_mean=[0.0] * 48,
        latents_std=[1.0] * 48,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        temperal_downsample=[False, True, True],
    )
    return WanPipeline(
        tokenizer=tokenizer(),
        text_encoder=umt5(),
        vae=vae,
        scheduler=wan_scheduler(),
        transformer=wan_transformer(48),
        expand_timesteps=True,
    )


def ltx() -> Any:
    """LTX-Video's shape: an 8-channel causal VAE, one transformer, a flow-match scheduler."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=TEXT_DIM,
    )
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    return LTXPipeline(
        tokenizer=tokenizer(),
        text_encoder=t5(),
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        transformer=transformer,
    )


BUILDERS = {
    "wan2.2-ti2v-5b": wan22,
    "wan2.1-t2v-1.3b": wan21,
    "ltx-video-2b-distilled": ltx,
}


def build(family: str, directory: Path) -> Path:
    """Save the family's tiny pipeline to ``directory`` (diffusers format); returns it."""
    pipe = BUILDERS[family]()
    directory.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(str(directory), safe_serialization=True)
    return directory


def main(args: list[str]) -> None:
    """``FAMILY DIRECTORY``, or ``all ROOT`` (each family in ROOT/FAMILY: one start of
    torch instead of three)."""
    if len(args) != 2 or args[0] not in (*BUILDERS, "all"):
        sys.exit(f"usage: python -m tests.fakes.tiny_diffusers {{{','.join(BUILDERS)},all}} DIR")
    if args[0] == "all":
        for family in BUILDERS:
            print(build(family, Path(args[1]) / family))
    else:
        print(build(args[0], Path(args[1])))


if __name__ == "__main__":
    main(sys.argv[1:])
