# SPDX-License-Identifier: GPL-3.0-or-later
# Plots the adaptive controller's simulated runs (make sim-plot).
# Input: CSVs from tests/unit/test_ocpool_ctl with OCPOOL_SIM_CSV=dir.
set terminal svg size 1000,900 dynamic font "sans,10"
set output outfile
set datafile separator ","
set key top right
set multiplot layout 3,1
set title "CPU-bound (6 of 8 CPUs) for 120 s, then I/O-bound at the same job rate"
set xlabel "simulated seconds"
set ylabel "workers"
set y2label "utilization"
set y2range [0:1.2]
set y2tics
set ytics nomirror
plot dir."/step_cpu_to_io.csv" using 1:2 with steps lw 2 title "workers", \
     "" using 1:4 with lines title "demand (workers)", \
     "" using 1:3 axes x1y2 with lines lc rgb "#999999" title "utilization", \
     0.60 axes x1y2 with lines dt 2 lc rgb "#2a2" notitle, 0.85 axes x1y2 with lines dt 2 lc rgb "#2a2" title "band"
set title "Busy (about 16 workers of demand) for 60 s, then idle: back at the lower bound"
plot dir."/idle.csv" using 1:2 with steps lw 2 title "workers", \
     "" using 1:4 with lines title "demand (workers)", \
     "" using 1:3 axes x1y2 with lines lc rgb "#999999" title "utilization"
set title "CPU-bound overload on 8 CPUs (3x capacity), then 2 s CPU-bound jobs"
set y2label "CPU share"
plot dir."/cpu_bound_8.csv" using 1:2 with steps lw 2 title "workers (limit n + 1 = 9)", \
     "" using 1:6 axes x1y2 with lines lc rgb "#999999" title "CPU share"
unset multiplot
