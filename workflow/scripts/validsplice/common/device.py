"""Choosing the torch device: the one rule for every device setting (training, scoring, CLI)."""
from __future__ import annotations

import logging
import warnings

import torch

from .errors import UserError

log = logging.getLogger("validsplice.common.device")


def resolve_device(device: str | None, where: str = "device") -> str:
    """'auto' (or None) -> 'cuda' when available, else 'cpu'; 'cuda' without a GPU is a UserError.

    ``where`` names the setting in the message (``--device``, ``config base_model.device``, ...).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "CUDA initialization: no driver" on CPU-only hosts
        cuda = torch.cuda.is_available()
    device = "auto" if device is None else str(device)
    if device == "auto":
        if not cuda:
            log.debug("no CUDA device available; running on CPU")
        return "cuda" if cuda else "cpu"
    if device.startswith("cuda") and not cuda:
        raise UserError(f"{where} {device} was requested but no CUDA device is available "
                        "(torch.cuda.is_available() is False). Use cpu or auto.")
    if device != "cpu" and not device.startswith("cuda"):
        raise UserError(f"{where}: unknown device {device!r}; use auto, cpu or cuda.")
    return device
