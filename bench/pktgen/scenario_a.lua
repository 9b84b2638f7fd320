-- (a) Baseline: the same wiring with dpdk-testpmd (io) or a cable loop in place
-- of meshdp; every size at line rate.
local c = require "common"
for _, size in ipairs(c.SIZES) do
	c.single(size, "udp", c.DST_IP)
	c.measure(string.format("(a) baseline %d bytes", size))
end
