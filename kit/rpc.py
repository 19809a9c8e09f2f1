"""RPC entrypoints: re-exported here so services never import nameko themselves."""

from nameko.rpc import rpc
from nameko.timer import timer

from kit.providers import RpcClient, RpcTimeout

__all__ = ["RpcClient", "RpcTimeout", "rpc", "timer"]
