-- (e) Many concurrent flows: 1M 5-tuples (62500 source ports x 16 addresses)
-- through the L4 flow table. Needs the L4 service path.
local c = require "common"
pktgen.set_range("0", "off")
c.ranges(64, "udp", c.VIP, 62500, 16)
c.measure("(e) UDP VIP 64 bytes, 1M flows")
