"""Pure: a loaded campaign -> the calls it will ask Exotel for (no I/O, no clock)."""

from campaigner.compile.calls import callback_url, compile_call

__all__ = ["callback_url", "compile_call"]
