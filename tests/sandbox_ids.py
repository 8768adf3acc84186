"""The embedded sandbox's program and promotion ids (seeded, stable across runs)."""

PROGRAM = 3334
DOUBLE_POINTS, SUMMER_COUPONS = 1133600978, 1133601204
ENROL_EARN, GOLD_TIER = 1133601377, 1133601550
