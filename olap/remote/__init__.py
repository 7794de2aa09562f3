"""The mart of another process: an owner serves its one backend (:class:`MartServer`) on a local,
key-protected channel (:class:`Channel`), and the hub's other processes call it through
:class:`RemoteBackend`, which fulfils the same :class:`~olap.backend.Backend` contract."""
from .channel import Channel
from .client import RemoteBackend
from .server import MartServer

__all__ = ["Channel", "RemoteBackend", "MartServer"]
