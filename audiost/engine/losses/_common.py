"""Floors and block sizes the loss modules share."""

import math

#: Below any real activation's or statistic's size: keeps divisions finite.
EPS = 1e-12
#: Power floor of the envelopes, so silence has a finite log.
LOG_FLOOR = math.log(1e-8)
#: Bins (canvas rows) per block where a long target is reduced row by row.
ROWS = 64
