#!/usr/bin/env bash
# Bind NIC ports to vfio-pci for meshdp (or give them back to their kernel driver).
# Usage: drivers-config/bind.sh PCI_ADDR...            bind to vfio-pci
#        drivers-config/bind.sh --restore DRIVER PCI_ADDR...
#        drivers-config/bind.sh --status
set -euo pipefail
helper=$(command -v dpdk-devbind.py || true)
[ -n "$helper" ] || { echo "dpdk-devbind.py not found (apt-get install dpdk)" >&2; exit 1; }
case "${1:-}" in
--status) exec "$helper" --status-dev net ;;
--restore)
	driver=$2
	shift 2
	exec "$helper" --bind="$driver" "$@" ;;
"") echo "usage: $0 PCI_ADDR... | --restore DRIVER PCI_ADDR... | --status" >&2; exit 2 ;;
esac
modprobe vfio-pci
# An interface that is up (and maybe carries a route) must go down before unbinding.
for dev in "$@"; do
	for ifc in /sys/bus/pci/devices/"$dev"/net/*; do
		if [ -e "$ifc" ]; then ip link set "$(basename "$ifc")" down; fi
	done
done
"$helper" --bind=vfio-pci "$@"
"$helper" --status-dev net
