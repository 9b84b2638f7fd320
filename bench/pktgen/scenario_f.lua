-- (f) Policy and rate limits: traffic to the VIP from allowed and from denied
-- sources (half the source addresses are outside the allow-list in the bench
-- config). Needs the L4 service path; compare rx on port 1 with the config's
-- rate limit and meshctl's drop counters.
local c = require "common"
pktgen.set_range("0", "off")
c.ranges(64, "udp", c.VIP, 1000, 32)
c.measure("(f) UDP VIP with allow-list and rate limit, 64 bytes")
