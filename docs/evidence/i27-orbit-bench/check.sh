#!/bin/bash
# check --preset vit14, base (1ebc59a) and new alternately, 2 rounds; wall/user/sys by /usr/bin/time
cd /tmp
for r in 1 2; do for b in base new; do
  uptime >> /tmp/i27b/check-load.txt
  /usr/bin/time -f "$b %e s wall %U s user %S s sys" /tmp/mimverify-$b check --preset vit14 --progress never > /tmp/i27b/check-$b-$r.out 2>> /tmp/i27b/check-time.txt
  echo "$b exit $?" >> /tmp/i27b/check-time.txt
done; done
echo finished >> /tmp/i27b/check-time.txt
