"""A private test network on this machine: network namespaces (one per host) joined by veth pairs
to a bridge in the root namespace, on a /24 that no route here uses yet.

The bridge has the subnet's first address, so the test process reaches every host; the hosts
have a route to the subnet and nothing else (no default route), so no test traffic can leave
these addresses. Every name carries the creating process's id: a run removes what it made, and
removes what an earlier run that died (its process gone) left behind.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil

NS_PREFIX = "tapesite-nodes-"
LINK_PREFIX = "tsn"  # interface names are at most 15 characters
_NS_NAME = re.compile(rf"^{NS_PREFIX}(\d+)-")
_LINK_NAME = re.compile(rf"^{LINK_PREFIX}(\d+)[a-z]")


class NetnsUnavailable(Exception):
    """Namespaces cannot be made here (not root, no ``ip``, or the kernel refused)."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def netns_check() -> None:
    """Raise NetnsUnavailable, saying why, unless this process can make a namespace."""
    if os.geteuid() != 0:
        raise NetnsUnavailable(f"network namespaces need root; this runs as uid {os.geteuid()}")
    if shutil.which("ip") is None:
        raise NetnsUnavailable("the `ip` command (Debian's iproute2) is not installed")
    probe = f"{NS_PREFIX}{os.getpid()}-probe"
    made = ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        raise NetnsUnavailable(f"`ip netns add` failed: {made.stderr.strip()}")
    ip("netns", "del", probe, check=False)


def _owner_gone(pid: int) -> bool:
    return pid == os.getpid() or not psutil.pid_exists(pid)


def _kill_netns_processes(name: str) -> None:
    pids = ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired, ValueError):
            psutil.Process(int(pid)).wait(timeout=10)


def leftovers_remove() -> list[str]:
    """Remove the namespaces and links of runs whose process is gone (a crash, a SIGKILL)."""
    removed = []
    for line in ip("netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = _NS_NAME.match(name)
        if match and _owner_gone(int(match.group(1))):
            _kill_netns_processes(name)
            ip("netns", "del", name, check=False)
            removed.append(name)
    for link in json.loads(ip("-j", "link", "show").stdout or "[]"):
        name = link.get("ifname", "")
        match = _LINK_NAME.match(name)
        if match and _owner_gone(int(match.group(1))):
            ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.213.0.0/16 that no route or address on this machine overlaps."""
    taken = []
    for entry in json.loads(ip("-j", "-4", "route", "show", "table", "all").stdout or "[]"):
        dst = entry.get("dst", "")
        if dst and dst != "default":
            with contextlib.suppress(ValueError):
                taken.append(ipaddress.ip_network(dst, strict=False))
    for link in json.loads(ip("-j", "-4", "addr", "show").stdout or "[]"):
        for addr in link.get("addr_info", []):
            taken.append(ipaddress.ip_network(f"{addr['local']}/{addr['prefixlen']}", strict=False))
    start = os.getpid() % 256
    for i in range(256):
        candidate = ipaddress.IPv4Network(f"10.213.{(start + i) % 256}.0/24")
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    raise RuntimeError("no free /24 in 10.213.0.0/16 for the test network")


@dataclass
class Host:
    name: str  # the role: svc, web1, ...
    netns: str
    addresses: list[str]

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def wrap(self) -> list[str]:
        """The command prefix that runs a program on this host (``ip netns exec`` execs, so the
        process started is the program itself)."""
        return ["ip", "netns", "exec", self.netns]


@dataclass
class LabNetwork:
    subnet: ipaddress.IPv4Network
    pid: int = field(default_factory=os.getpid)
    hosts: dict[str, Host] = field(default_factory=dict)
    _next: int = 2

    @property
    def bridge(self) -> str:
        return f"{LINK_PREFIX}{self.pid}br"

    @property
    def gateway(self) -> str:
        """The bridge's address: where the test process itself talks from."""
        return str(self.subnet[1])

    @classmethod
    def create(cls) -> LabNetwork:
        net = cls(subnet=_free_subnet())
        try:
            ip("link", "add", net.bridge, "type", "bridge")
            ip("addr", "add", f"{net.gateway}/{net.subnet.prefixlen}", "dev", net.bridge)
            ip("link", "set", net.bridge, "up")
        except BaseException:
            net.remove()
            raise
        return net

    def add_host(self, name: str, *, addresses: int = 1) -> Host:
        netns = f"{NS_PREFIX}{self.pid}-{name}"
        outside = f"{LINK_PREFIX}{self.pid}{name}"[:15]
        assigned = [str(self.subnet[self._next + i]) for i in range(addresses)]
        self._next += addresses
        host = Host(name=name, netns=netns, addresses=assigned)
        self.hosts[name] = host
        ip("netns", "add", netns)
        ip("-n", netns, "link", "set", "lo", "up")
        ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", netns)
        ip("link", "set", outside, "master", self.bridge, "up")
        for address in assigned:
            ip("-n", netns, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0")
        ip("-n", netns, "link", "set", "eth0", "up")
        return host

    def blackhole(self, host: Host, addresses: Sequence[str]) -> None:
        """``host`` loses its route to ``addresses`` (its packets to them are dropped)."""
        for address in addresses:
            ip("-n", host.netns, "route", "add", "blackhole", f"{address}/32")

    def restore(self, host: Host, addresses: Sequence[str]) -> None:
        for address in addresses:
            ip("-n", host.netns, "route", "del", "blackhole", f"{address}/32")

    def remove(self) -> None:
        """Kill whatever still runs in the hosts, then delete them, their links and the bridge."""
        for host in self.hosts.values():
            _kill_netns_processes(host.netns)
            ip("link", "del", f"{LINK_PREFIX}{self.pid}{host.name}"[:15], check=False)
            ip("netns", "del", host.netns, check=False)
        ip("link", "del", self.bridge, check=False)

    def leftovers(self) -> list[str]:
        """What of this network still exists (empty once removed)."""
        names = {line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line}
        links = {link.get("ifname", "") for link in json.loads(ip("-j", "link").stdout or "[]")}
        mine = f"{NS_PREFIX}{self.pid}-", f"{LINK_PREFIX}{self.pid}"
        return sorted(n for n in names | links if n.startswith(mine))
