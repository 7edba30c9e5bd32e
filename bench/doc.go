// Package bench is herald's load generator: it opens many WebSocket
// connections to a WAMP server (herald, or any WAMP v1 or v2 server),
// subscribes each to one of a set of topics, publishes a bounded number of
// timestamped, numbered events to those topics (over WAMP, herald's HTTP
// publish API or RabbitMQ) and measures what comes back: deliveries per
// second, publish-to-deliver latency, loss, duplicates and reordering per
// subscriber, the connect rate, and the server's memory per connection.
//
// Run executes one run described by a Config and returns a Summary, which
// prints itself for people (WriteText) and marshals to JSON for scripts.
// `herald bench` is the command-line front end.
//
// A run has five phases:
//
//  1. Connect: Config.Conns connections, Config.ConnectConcurrency
//     handshakes at a time, spread over the source addresses 127.0.0.1 ..
//     127.0.0.N (the kernel gives each source address its own ephemeral
//     ports). Connection i subscribes to topic i % Config.Topics. More than
//     1% of failed connections aborts the run.
//  2. Subscribe: WAMP v1 does not acknowledge SUBSCRIBE, so the run
//     publishes a probe event (sequence -1) to every topic, again every
//     250 ms, until every subscriber has seen one (or
//     Config.SubscribeTimeout passes). Probes are not counted. In WAMP v2
//     the probes start once every SUBSCRIBE was answered (SUBSCRIBED or
//     ERROR).
//  3. Idle: the connections are held for Config.Idle; then the server's
//     resident memory is read again (from /metrics or /proc/PID/status).
//  4. Publish: every topic gets the events with sequence numbers 0 ..
//     Config.Messages-1, from Config.Publishers concurrent publishers, at
//     Config.Rate publications per second in total or as fast as possible.
//  5. Drain: the run waits up to Config.Drain after the last publication
//     for the deliveries still missing.
//
// Each event is a JSON object {"s":SEQ,"t":UNIX_NANOS,"p":"xx…"} padded to
// about Config.Size bytes; WAMP v2 msgpack publishers (WAMP2MsgPack) send
// the same object as a msgpack map with the same three keys, integers in
// their shortest form, padded to about Config.Size bytes of msgpack, which
// is also what herald makes of the JSON object for msgpack subscribers.
// Subscribers scan the frames by hand (no encoding/json or msgpack
// decoder per message, no allocation), keep a bitset of the sequence
// numbers they saw, and record the latency in a sharded log-linear
// histogram (1 ns resolution below 256 ns, under 0.8% relative error
// above).
//
// Every target must be a loopback address: the tool is meant for measuring
// a server on the same machine, never for loading someone else's.
package bench
