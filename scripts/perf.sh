#!/usr/bin/env bash
# perf.sh measures the figures of docs/performance.md with herald bench:
# the server pinned to CPU 0, the load generator to CPU 1, every figure the
# median of RUNS runs. It needs the machine's RabbitMQ, Redis and NATS for
# the AMQP and broker rows (set SKIP_SERVICES=1 to leave them out).
#
#   bash scripts/perf.sh            # RUNS=5
#   RUNS=3 bash scripts/perf.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SKIP_SERVICES=${SKIP_SERVICES:-}
work=$(mktemp -d)
bin=$work/herald
go build -o "$bin" ./cmd/herald
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# serve NAME YAML: starts a server pinned to CPU 0 with that config; cfg
# is its config path.
cfg=
serve() {
	local name=$1 extra=$2 p
	p=$(port)
	cat >"$work/$name.yaml" <<YAML
server: { host: 127.0.0.1, port: $p }
api: { key: perf-key }
$extra
YAML
	taskset -c 0 "$bin" serve -c "$work/$name.yaml" >"$work/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$p/healthz" >/dev/null 2>&1 && break
		sleep 0.05
	done
	cfg=$work/$name.yaml
	url=ws://127.0.0.1:$p/
}

# runs CFG ARGS...: runs bench RUNS times; outs holds the JSON summaries.
outs=()
runs() {
	local cfg=$1
	shift
	outs=()
	for _ in $(seq "$RUNS"); do
		outs+=("$(taskset -c 1 "$bin" bench -c "$cfg" --quiet --json - "$@" 2>/dev/null || true)")
	done
}

# median JQ: the median of the jq expression over outs (a run with loss
# counts as 0).
median() {
	local expr=$1 vals=()
	for out in "${outs[@]}"; do
		vals+=("$(jq -r "if .ok then ($expr) else 0 end" <<<"$out")")
	done
	printf '%s\n' "${vals[@]}" | sort -g | awk '{v[NR]=$1} END {printf "%.0f (runs: %d)\n", v[int((NR+1)/2)], NR}'
}

# run CFG JQ ARGS...: runs bench RUNS times and prints the median of the
# jq expression over the JSON summaries.
run() {
	local cfg=$1 expr=$2
	shift 2
	runs "$cfg" "$@"
	median "$expr"
}

serve mem ""
mem=$cfg
echo "burst, 2000 subscribers x 300 messages, WAMP publisher (deliveries/s): $(run "$mem" .delivery.per_sec --conns 2000 --messages 300)"
for proto in v2 v2-msgpack; do
	echo "burst, 2000 subscribers x 300 messages, WAMP publisher, --proto $proto (deliveries/s): $(run "$mem" .delivery.per_sec --conns 2000 --messages 300 --proto "$proto")"
done
runs "$mem" --via http --publishers 1 --conns 2000 --messages 300
echo "burst, HTTP API, 1 request in flight (deliveries/s): $(median .delivery.per_sec)"
echo "  its API response time as the publisher sees it, p50 (us): $(median .publish.latency_us.p50)"
echo "  its API response time as the publisher sees it, p99 (us): $(median .publish.latency_us.p99)"
echo "  the server's answer time (request written -> answer in the kernel), p50 (us): $(median .publish.response_us.p50)"
echo "  the server's answer time (request written -> answer in the kernel), p99 (us): $(median .publish.response_us.p99)"
runs "$mem" --ack --publishers 1 --conns 2000 --messages 300
echo "burst, WAMP publisher waiting for each PUBLISH to be acknowledged (deliveries/s): $(median .delivery.per_sec)"
echo "  its acknowledgement time, p50 (us): $(median .publish.latency_us.p50)"
echo "  its acknowledgement time, p99 (us): $(median .publish.latency_us.p99)"
echo "  the server's answer time (PUBLISH+PING written -> PONG in the kernel), p50 (us): $(median .publish.response_us.p50)"
echo "  the server's answer time (PUBLISH+PING written -> PONG in the kernel), p99 (us): $(median .publish.response_us.p99)"
echo "burst, HTTP API, 4 requests in flight (deliveries/s): $(run "$mem" .delivery.per_sec --via http --publishers 4 --conns 2000 --messages 300)"
echo "latency, 200 subscribers at 200 msg/s, p99 (us): $(run "$mem" .latency_us.p99 --conns 200 --messages 1000 --rate 200)"
echo "latency, 200 subscribers at 1000 msg/s, p99 (us): $(run "$mem" .latency_us.p99 --conns 200 --messages 3000 --rate 1000)"
echo "latency, 2000 subscribers at 100 msg/s, p99 (us): $(run "$mem" .latency_us.p99 --conns 2000 --messages 300 --rate 100)"
echo "handshakes, 15000 connections (per s): $(run "$mem" .connect.handshakes_per_sec --conns 15000 --messages 1 --sources 8)"

for proto in v1 v2; do
	vals=()
	for _ in $(seq "$RUNS"); do
		serve "idle$RANDOM" ""
		out=$(taskset -c 1 "$bin" bench -c "$cfg" --quiet --json - --conns 19000 --messages 10 --idle 10s --proto "$proto" 2>/dev/null || true)
		vals+=("$(jq -r '.memory.per_conn_bytes' <<<"$out")")
		kill "${pids[-1]}"
	done
	echo "idle memory, 19000 subscribed connections, --proto $proto (bytes/connection): $(printf '%s\n' "${vals[@]}" | sort -g | awk '{v[NR]=$1} END {printf "%.0f (runs: %d)\n", v[int((NR+1)/2)], NR}')"
done

if [ -z "$SKIP_SERVICES" ]; then
	q=herald_perf_$RANDOM
	serve amqp "pushers:
  amqp: { host: 127.0.0.1, login: guest, password: guest, queue_name: $q, exchange_name: $q, routing_key: $q }"
	amqp=$cfg
	echo "AMQP to 1 subscriber, publisher confirms (messages/s): $(run "$amqp" .publish.per_sec --via amqp --conns 1 --messages 80000)"
	serve amqp1 "pushers:
  amqp: { host: 127.0.0.1, login: guest, password: guest, queue_name: ${q}_1, exchange_name: ${q}_1, routing_key: ${q}_1, prefetch: 1, consume_delay: 0s }"
	echo "burst through AMQP with prefetch 1, 2000 subscribers (deliveries/s): $(run "$cfg" .delivery.per_sec --via amqp --conns 2000 --messages 300)"
	for kind in redis nats; do
		if [ "$kind" = redis ]; then
			b="broker: { type: redis, url: 'redis://127.0.0.1:6379/0', prefix: 'herald-perf-$RANDOM:' }"
		else
			b="broker: { type: nats, url: 'nats://127.0.0.1:4222', prefix: 'heraldperf$RANDOM' }"
		fi
		serve "$kind-a" "$b"
		a=$cfg pub=$url
		serve "$kind-b" "$b"
		echo "burst over the $kind broker, one node (deliveries/s): $(run "$a" .delivery.per_sec --conns 2000 --messages 300)"
		echo "burst across two nodes over $kind, WAMP publisher on the other node (deliveries/s): $(run "$cfg" .delivery.per_sec --conns 2000 --messages 300 --publish-url "$pub")"
		echo "burst across two nodes over $kind, 4 HTTP requests in flight on the other node (deliveries/s): $(run "$cfg" .delivery.per_sec --via http --publishers 4 --conns 2000 --messages 300 --publish-url "$pub")"
	done
	rabbitmqctl delete_queue "$q" >/dev/null 2>&1 || true
	rabbitmqctl delete_queue "${q}_1" >/dev/null 2>&1 || true
fi
