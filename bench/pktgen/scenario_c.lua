-- (c) L4 service path: UDP to a service VIP, load-balanced (DNAT) to the
-- endpoints behind port 1. Needs the L4 service path in meshdp.
local c = require "common"
for _, size in ipairs(c.SIZES) do
	pktgen.set_range("0", "off")
	c.ranges(size, "udp", c.VIP, 1000, 1)
	c.measure(string.format("(c) UDP VIP %d bytes, 1000 flows", size))
end
