// Package amqppush carries GosWebSocketBundle's AMQP pusher and push
// handler over RabbitMQ (AMQP 0-9-1), wire-compatible with Gos: the same
// durable direct exchange (gos_websocket_exchange), the same durable queue
// (gos_websocket) and the same {"topic", "data"} body, so a PHP application
// that publishes with Gos's AmqpPusher (php-amqp) keeps its code and its
// queue.
//
// The Handler consumes the queue inside herald serve. Unlike Gos, which
// polls with basic.get (at most 10 messages every 0.1 s) and never declares
// a binding, it consumes with a prefetch window, declares the binding
// (Config.Bind), and acknowledges a message only after the sink accepted
// it. A message that cannot be decoded, routed, or that its route's
// handler refuses is rejected without requeue: a dead-letter exchange
// configured on the queue receives it. A message the sink could not take
// because herald is stopping is requeued instead.
//
// # Delivery guarantee: at least once
//
// A message is acknowledged only after the sink accepted it, that is after
// herald queued the event to the topic's subscribers (accepted messages
// are acknowledged in batches of at most 64, at once when no further
// message is waiting). When the connection dies in between (a broker
// restart, a network cut, `rabbitmqctl close_connection`), RabbitMQ
// redelivers every unacknowledged message to the next consumer, including
// ones herald had already published: subscribers may then receive an
// event twice (such deliveries carry the AMQP redelivered flag; Handler
// Stats counts them). No message is lost and none is acknowledged before
// it was published; as in Gos, an event reaches the subscribers connected
// when it is published. The Pusher's single retry (below) can likewise
// put a message on the queue twice.
//
// # Restarts: the consume delay
//
// When herald restarts (a deployment, a crash), its browsers reconnect a
// few seconds later, and a queue consumed at once would be emptied before
// they are subscribed again: its backlog would reach nobody. With
// Config.ConsumeDelay (herald's pushers.amqp.consume_delay, 5 s unless
// set) the Handler connects and declares at once, so configuration errors
// show at once, and leaves the messages in the queue until the delay has
// passed since Run started. Messages that the killed process had received
// but not acknowledged are redelivered then too. Reconnections after a
// broker outage do not wait: herald's own clients stayed connected.
//
// # Reconnection
//
// A github.com/rabbitmq/amqp091-go connection does not recover by itself
// (herald does not use the library's experimental Recovery option). The
// Handler supervises the
// connection (NotifyClose), the channel (NotifyClose) and the consumer
// (NotifyCancel, the deliveries channel) and on any loss reconnects with
// exponential backoff and jitter (Config.ReconnectMin to ReconnectMax),
// re-declaring the exchange, queue and binding. The Pusher reconnects
// lazily: a Push that finds its connection dead opens a new one, and a
// publication whose channel died before the broker confirmed it is
// retried once.
//
// Both register themselves under the name "amqp" (push.RegisterHandler,
// push.RegisterPusher); their map configuration takes the keys of Gos's
// `gos_web_socket.pushers.amqp` section plus herald's (see ParseConfig).
package amqppush
