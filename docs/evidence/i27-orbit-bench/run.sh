#!/bin/bash
# interleaved: base (1ebc59a + the cpu-ns/op metric) and new, -cpu 1 and 2, 8 rounds
cd /work/wt-i27/dynamics
for r in 1 2 3 4 5 6 7 8; do
  for b in base new; do
    uptime >> /tmp/i27b/load.txt
    /tmp/i27-$b.test -test.run '^$' -test.bench 'OrbitCRN/(default|vit14)/orbit$' -test.benchtime 20x -test.cpu 1,2 >> /tmp/i27b/$b.txt 2>&1
  done
done
echo finished >> /tmp/i27b/load.txt
