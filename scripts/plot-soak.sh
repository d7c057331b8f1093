#!/usr/bin/env bash
# Plots a `creditops bench soak` run: throughput, the jobs table's size and the workers' memory
# over time, one panel each, from the run's samples.csv.
#   scripts/plot-soak.sh SOAK_OUT_DIR docs/soak.png ["a title"]
# Needs gnuplot (Debian: apt-get install gnuplot-nox).
set -euo pipefail
CSV="${1:?usage: scripts/plot-soak.sh SOAK_OUT_DIR OUTPUT.png}/samples.csv"
PNG="${2:?usage: scripts/plot-soak.sh SOAK_OUT_DIR OUTPUT.png}"
command -v gnuplot >/dev/null || { echo "gnuplot not found: apt-get install gnuplot-nox" >&2; exit 1; }
[ -s "$CSV" ] || { echo "$CSV: missing or empty" >&2; exit 1; }
WORKERS=$(head -1 "$CSV" | tr ',' '\n' | grep -c '_rss_mb$')
TITLE="${3:-$(basename "$(dirname "$CSV")")}"

gnuplot <<EOF
set datafile separator ","
set terminal pngcairo size 1100,900 font "DejaVu Sans,10"
set output "$PNG"
set multiplot layout 3,1 title "creditops bench soak: $TITLE"
set xlabel "minutes"
set grid
set key left top
set yrange [0:*]
set ylabel "jobs/s"
set y2label "rows"
set y2tics
set y2range [0:*]
set title "Jobs completed a second (between samples), and the rows not finished yet"
set key at graph 0.5, 0.4 center
plot "$CSV" using (\$1/60):4 every ::1 with linespoints title "completed/s", \
     "" using (\$1/60):5 every ::1 axes x1y2 with lines dt 2 title "unfinished rows (right)"
unset y2label
unset y2tics
set key left top
set ylabel "MB"
set title "jobs table and its indexes"
plot "$CSV" using (\$1/60):9 every ::1 with linespoints title "table", \
     "" using (\$1/60):10 every ::1 with linespoints title "indexes"
set title "Resident memory of each worker process"
plot for [w=1:$WORKERS] "$CSV" using (\$1/60):(column(10+w)) every ::1 with linespoints title sprintf("worker %d", w)
unset multiplot
EOF
echo "wrote $PNG"
