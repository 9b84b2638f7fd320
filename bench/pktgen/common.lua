-- Shared settings for the meshdp pktgen scenarios (pktgen-dpdk Lua API).
-- Port 0 faces meshdp's p0 (subnet A, the client side), port 1 faces p1
-- (subnet B, the server side). Edit the MACs and addresses to your wiring:
-- DUT_MAC0/1 are meshdp's port MACs (`meshctl --json ports`).
package.path = package.path .. ";?.lua;bench/pktgen/?.lua"
require "Pktgen"

local M = {}

M.DUT_MAC0 = "02:00:00:00:00:01" -- meshdp p0
M.DUT_MAC1 = "02:00:00:00:00:02" -- meshdp p1
M.SRC_IP = "10.60.0.2"           -- pktgen port 0, subnet A (10.60.0.0/24, meshdp 10.60.0.1)
M.DST_IP = "10.60.1.2"           -- pktgen port 1, subnet B (10.60.1.0/24, meshdp 10.60.1.1)
M.VIP = "10.70.0.10"             -- the service VIP of scenarios c-f
M.DURATION_MS = 10000
M.SIZES = { 64, 512, 1518 }

-- One stream from port 0 to port 1 through meshdp, single flow.
function M.single(size, proto, dst)
	pktgen.set_mac("0", "dst", M.DUT_MAC0)
	pktgen.set_ipaddr("0", "src", M.SRC_IP .. "/24")
	pktgen.set_ipaddr("0", "dst", dst or M.DST_IP)
	pktgen.set_ipaddr("1", "src", M.DST_IP .. "/24")
	pktgen.set_proto("0", proto or "udp")
	pktgen.set("0", "size", size)
	pktgen.set("0", "rate", 100)
	pktgen.set("0", "sport", 1024)
	pktgen.set("0", "dport", 5001)
end

-- Many flows: range mode varies the source port (and address) per packet.
function M.ranges(size, proto, dst, nports, naddrs)
	pktgen.range.dst_mac("0", "start", M.DUT_MAC0)
	pktgen.range.src_ip("0", "start", M.SRC_IP)
	pktgen.range.src_ip("0", "inc", "0.0.0.1")
	pktgen.range.src_ip("0", "min", M.SRC_IP)
	pktgen.range.src_ip("0", "max", "10.60.0." .. tostring(1 + (naddrs or 1)))
	pktgen.range.dst_ip("0", "start", dst or M.DST_IP)
	pktgen.range.dst_ip("0", "inc", "0.0.0.0")
	pktgen.range.dst_ip("0", "min", dst or M.DST_IP)
	pktgen.range.dst_ip("0", "max", dst or M.DST_IP)
	pktgen.range.src_port("0", "start", 1024)
	pktgen.range.src_port("0", "inc", 1)
	pktgen.range.src_port("0", "min", 1024)
	pktgen.range.src_port("0", "max", 1024 + (nports or 1000) - 1)
	pktgen.range.dst_port("0", "start", 5001)
	pktgen.range.dst_port("0", "inc", 0)
	pktgen.range.dst_port("0", "min", 5001)
	pktgen.range.dst_port("0", "max", 5001)
	pktgen.range.ip_proto("0", proto or "udp")
	pktgen.range.pkt_size("0", "start", size)
	pktgen.range.pkt_size("0", "inc", 0)
	pktgen.range.pkt_size("0", "min", size)
	pktgen.range.pkt_size("0", "max", size)
	pktgen.set_range("0", "on")
end

-- Send for DURATION_MS on port 0 and print what each port counted.
function M.measure(label)
	pktgen.clr()
	pktgen.start("0")
	pktgen.delay(M.DURATION_MS)
	pktgen.stop("0")
	pktgen.delay(500) -- frames in flight
	local st = pktgen.portStats("0,1", "port")
	local tx, rx = st[0].opackets, st[1].ipackets
	local loss = tx > 0 and (tx - rx) / tx or 0
	printf("%s: tx %d rx %d loss %.4f%% rx %.3f Mpps\n", label, tx, rx, loss * 100,
		rx / (M.DURATION_MS / 1000) / 1e6)
end

return M
