#!/bin/sh
# Measures bulksend status against the sandbox: one sandbox with the given
# limit, ROWS Twilio messages sent through it, its counters reset, and one
# status run over the report whose summary and the sandbox's counters are
# printed. Every message is final by the time it is asked (delivery step
# 1ms), a tenth undelivered.
#
# usage: bench/status.sh BIN ROWS SANDBOX_BURST SANDBOX_RATE [status flags...]
#   SENDRATE=100/s bench/status.sh /tmp/bs 1000 20 100/s --rate 100/s
set -e
BIN=$1 N=$2 BURST=$3 RATE=$4
shift 4
D=$(mktemp -d)
cd "$D"
"$BIN" sandbox --listen 127.0.0.1:0 --addr-file addr --burst "$BURST" --rate "$RATE" \
	--undelivered 0.1 --delivery-step 1ms >/dev/null 2>&1 &
SB=$!
trap 'kill $SB; rm -rf "$D"' EXIT
while [ ! -s addr ]; do sleep 0.1; done
B=$(cat addr)
awk -v n="$N" 'BEGIN { print "id,to,text"; for (i = 1; i <= n; i++) printf "r%d,+1555%07d,hello %d\n", i, i, i }' >rows.csv
export TWILIO_ACCOUNT_SID=ACsandbox TWILIO_AUTH_TOKEN=sandbox-token
"$BIN" send rows.csv --preset twilio --from +15550000000 --api-url "$B" --quiet ${SENDRATE:+--rate $SENDRATE} || true
curl -s -XPOST "$B/stats/reset"
sleep 1.1 # the sandbox's bucket refills: status starts as a later run would
"$BIN" status rows.csv.report.csv --preset twilio --api-url "$B" --json "$@" >out.json 2>/dev/null || true
grep -E '^  "(rows|lookups|lookups_per_second|elapsed_seconds|throttled|delivered|undelivered|pending|exit_code)":' out.json | tr -d ' \n'
echo
curl -s "$B/stats" | grep -oE '"(lookups|throttled)":[0-9]+' | tr '\n' ' '
echo
