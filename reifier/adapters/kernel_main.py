"""Launch the ``reifier-bash`` kernel: ``python -m reifier.adapters.kernel_main -f FILE``.

A separate entry module, so the kernel class is imported once under its real
name (not as ``__main__``).
"""

from __future__ import annotations

import logging


class _LoopbackNotice(logging.Filter):
    """Drop ipykernel's plain-TCP warning: kernels here bind 127.0.0.1 and every
    message is HMAC-signed; on each run it only buries real errors in stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "running over TCP without encryption" not in record.getMessage()


def main() -> None:
    """Start the kernel application with :class:`ReifierBashKernel`."""
    from ipykernel.kernelapp import IPKernelApp

    from reifier.adapters.kernel import ReifierBashKernel

    # All cell output is sent explicitly, never through Python's sys.stdout, so
    # ipykernel's stream capture is dropped: it costs two threads at start, and
    # its flush on shutdown can wait 10 s on an already stopped IOPub thread.
    logging.getLogger("IPKernelApp").addFilter(_LoopbackNotice())
    IPKernelApp.launch_instance(kernel_class=ReifierBashKernel, outstream_class=None)


if __name__ == "__main__":
    main()
