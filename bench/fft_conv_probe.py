"""Would FFT convolutions beat oneDNN's direct ones for SpliceAI's dilated layers on this CPU?

A probe, not part of the engine: one 32->32 dilated conv (41/25 over 8,101 positions, 21/10 over
9,701; batch 1 and 8; one thread) as oneDNN's channels-last conv2d (what the engine runs) and as a
polyphase FFT convolution (a dilated conv is ``d`` dense k-tap convs, one over every d-th
position: rfft of each phase, a complex channel product per frequency, irfft), the product as
torch's complex bmm or as one real bmm on stacked real/imaginary parts. Prints the times, the
ratios, and each one's largest error against a float64 conv1d; then a profile of the complex
version's parts.

    python bench/fft_conv_probe.py
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

CHANNELS = 32
CASES = [(41, 25, 8101), (21, 10, 9701)]  # (kernel, dilation, input positions): a cone's widest


def direct(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, d: int) -> torch.Tensor:
    weight = w.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    return F.conv2d(x.unsqueeze(2), weight, b, dilation=(1, d)).squeeze(2)


def fft_weights(w: torch.Tensor, n_fft: int) -> torch.Tensor:
    """(frequencies, Cin, Cout) transform of the flipped taps (a conv layer is a correlation)."""
    return torch.fft.rfft(torch.flip(w, [-1]), n=n_fft).permute(2, 1, 0).contiguous()


def real_block(wf: torch.Tensor) -> torch.Tensor:
    """(F, 2 Cin, 2 Cout) real matrix of the complex product: [xr, xi] @ [[wr, wi], [-wi, wr]]."""
    top = torch.cat([wf.real, wf.imag], dim=2)
    return torch.cat([top, torch.cat([-wf.imag, wf.real], dim=2)], dim=1).contiguous()


def channel_product(spectra: torch.Tensor, wf: torch.Tensor, real: torch.Tensor | None) -> torch.Tensor:
    """Per frequency, (rows, Cin) @ (Cin, Cout): torch's complex bmm, or one real bmm on the
    stacked real and imaginary parts (``real`` = ``real_block(wf)``)."""
    if real is None:
        return torch.bmm(spectra, wf)
    stacked = torch.cat([spectra.real, spectra.imag], dim=2)
    out = torch.bmm(stacked, real)
    cout = wf.shape[-1]
    return torch.complex(out[..., :cout], out[..., cout:])


def polyphase_fft(x: torch.Tensor, wf: torch.Tensor, b: torch.Tensor, k: int, d: int, n_fft: int,
                  real: torch.Tensor | None = None) -> torch.Tensor:
    batch, cin, length = x.shape
    out_len = length - (k - 1) * d
    per_phase = math.ceil(length / d)
    phases = F.pad(x, (0, per_phase * d - length)).view(batch, cin, per_phase, d).permute(0, 3, 1, 2)
    spectra = torch.fft.rfft(phases, n=n_fft)  # (B, d, Cin, F)
    spectra = spectra.permute(3, 0, 1, 2).reshape(spectra.shape[-1], batch * d, cin)
    product = channel_product(spectra, wf, real).reshape(-1, batch, d, wf.shape[-1]).permute(1, 2, 3, 0)
    y = torch.fft.irfft(product, n=n_fft)[..., k - 1:k - 1 + (out_len + d - 1) // d + 1]
    # phase p, step j is output position p + d*j
    y = y.permute(0, 2, 3, 1).reshape(batch, -1, y.shape[-1] * d)[..., :out_len]
    return y + b[None, :, None]


def best_of(fn, repeats: int = 7) -> float:
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(k: int, d: int, length: int, batch: int) -> None:
    x = torch.relu(torch.randn(batch, CHANNELS, length))
    w, b = torch.randn(CHANNELS, CHANNELS, k) * 0.05, torch.randn(CHANNELS) * 0.1
    n_fft = 1 << math.ceil(math.log2(math.ceil(length / d) + k - 1))
    wf = fft_weights(w, n_fft)
    real = real_block(wf)
    exact = F.conv1d(x.double(), w.double(), b.double(), dilation=d)
    err_direct = (direct(x, w, b, d).double() - exact).abs().max().item()
    err_fft = (polyphase_fft(x, wf, b, k, d, n_fft, real).double() - exact).abs().max().item()
    t_direct = best_of(lambda: direct(x, w, b, d))
    t_complex = best_of(lambda: polyphase_fft(x, wf, b, k, d, n_fft))
    t_real = best_of(lambda: polyphase_fft(x, wf, b, k, d, n_fft, real))
    phases = torch.randn(batch, d, CHANNELS, math.ceil(length / d))
    t_transforms = best_of(lambda: torch.fft.irfft(torch.fft.rfft(phases, n=n_fft), n=n_fft))
    print(f"{k}/{d} over {length:,}, batch {batch}, FFT {n_fft}: direct {t_direct * 1e3:.2f} ms; FFT with "
          f"complex bmm {t_complex * 1e3:.2f} ms ({t_direct / t_complex:.2f}x), with one real bmm "
          f"{t_real * 1e3:.2f} ms ({t_direct / t_real:.2f}x), the two transforms alone ~{t_transforms * 1e3:.2f} ms; "
          f"largest error vs float64: direct {err_direct:.1e}, FFT {err_fft:.1e} "
          f"(outputs up to {exact.abs().max().item():.1f})")


def profile_fft(k: int = 41, d: int = 25, length: int = 8101) -> None:
    x = torch.relu(torch.randn(1, CHANNELS, length))
    w, b = torch.randn(CHANNELS, CHANNELS, k) * 0.05, torch.randn(CHANNELS) * 0.1
    wf = fft_weights(w, 512)
    with torch.profiler.profile() as prof:
        for _ in range(20):
            polyphase_fft(x, wf, b, k, d, 512)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))


def main() -> int:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for k, d, length in CASES:
        for batch in (1, 8):
            compare(k, d, length, batch)
    profile_fft()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
