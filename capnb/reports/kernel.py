"""The kernel manager :mod:`capnb.reports.render` runs report notebooks with."""

from __future__ import annotations

__all__ = ["quiet_shutdown_manager"]


def quiet_shutdown_manager() -> type:
    """jupyter_client's kernel manager, minus the SIGINT it sends before asking a kernel to
    shut down: a kernel still answering a message then logs "KeyboardInterrupt caught in
    kernel." on stderr after a report that succeeded. A finished run has nothing to interrupt
    (a cell that times out is still interrupted: that is not a shutdown)."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietShutdownKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

    return QuietShutdownKernelManager
