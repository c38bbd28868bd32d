# Charts of one bench/run.sh run: gnuplot -e "outdir='...'; systems='ferry nats redis'" charts.gp
# Reads throughput.dat and latency-<system>.dat (written by bench/render_table.py --dat) from
# outdir; writes bench-throughput.png and bench-latency.png there.
if (!exists("systems")) systems = "ferry nats redis"
label(s) = (s eq "ferry") ? "Ferry" : (s eq "nats") ? "NATS JetStream" : "Redis Streams"
colour(s) = (s eq "ferry") ? "#1f77b4" : (s eq "nats") ? "#2ca02c" : "#d62728"

set terminal pngcairo size 900,520 enhanced font "DejaVu Sans,11"
set output outdir."/bench-throughput.png"
set title "Throughput, 100-byte records, one producer / one group consumer"
set ylabel "records per second"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set format y "%.1s%c"
set key top right
plot outdir."/throughput.dat" using 2:xtic(1) title "publish (acked)" lc rgb "#4c72b0", \
     ''                        using 3          title "consume (catch-up)" lc rgb "#dd8452"

reset
set terminal pngcairo size 1000,520 enhanced font "DejaVu Sans,11"
set output outdir."/bench-latency.png"
set title "End-to-end latency (intended send → consumed) against offered load"
set xlabel "offered load, thousand records per second"
set ylabel "latency, ms (log scale)"
set logscale y
set grid xtics ytics mytics
set key outside right top
plot for [s in systems] outdir."/latency-".s.".dat" using ($1/1000):2 with linespoints \
       lw 2 pt 7 lc rgb colour(s) title label(s)." p50", \
     for [s in systems] outdir."/latency-".s.".dat" using ($1/1000):3 with linespoints \
       lw 2 dt 2 pt 5 lc rgb colour(s) title label(s)." p99"
