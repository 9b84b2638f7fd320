-- (b) meshdp L3 forwarding: subnet A (port 0) -> subnet B (port 1), every size,
-- one flow and then 1000 flows (source ports).
local c = require "common"
for _, size in ipairs(c.SIZES) do
	c.single(size, "udp", c.DST_IP)
	c.measure(string.format("(b) L3 forward %d bytes, 1 flow", size))
end
pktgen.set_range("0", "off")
c.ranges(64, "udp", c.DST_IP, 1000, 1)
c.measure("(b) L3 forward 64 bytes, 1000 flows")
pktgen.set_range("0", "off")
-- Latency: pktgen's latency mode stamps frames on port 0 and reads them on port 1.
c.single(64, "udp", c.DST_IP)
pktgen.set("0", "rate", 1)
pktgen.latency("0", "enable")
pktgen.latency("0", "rate", 1000)
pktgen.start("0")
pktgen.delay(c.DURATION_MS)
pktgen.stop("0")
pktgen.latency("0", "disable")
