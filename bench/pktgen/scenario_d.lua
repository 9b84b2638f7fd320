-- (d) New TCP flows per second: SYNs to the VIP, every one a new 5-tuple.
-- Needs the L4 service path. Set TCP flags to SYN on port 0 (pktgen: set 0 tcp_flags syn
-- in recent releases; older ones send SYN by default for tcp).
local c = require "common"
pktgen.set_range("0", "off")
c.ranges(64, "tcp", c.VIP, 60000, 16)
c.measure("(d) TCP SYN to VIP, 960000 flows")
