package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own so
// that several servers in one process (tests, embedding) never collide.
type metrics struct {
	registry          *prometheus.Registry
	connections       prometheus.Gauge
	connectionsTotal  prometheus.Counter
	subscriptions     prometheus.Gauge
	topics            prometheus.Gauge
	messagesIn        prometheus.Counter
	messagesOut       prometheus.Counter
	bytesIn           prometheus.Counter
	bytesOut          prometheus.Counter
	publications      prometheus.Counter
	slowConsumers     prometheus.Counter
	handshakeFailures *prometheus.CounterVec
	webhookFailures   *prometheus.CounterVec
	apiRequests       *prometheus.CounterVec
	pushes            *prometheus.CounterVec
	brokerFailures    prometheus.Counter
	brokerReady       prometheus.Gauge
	nodeIDCollisions  prometheus.Counter
	limitRefusals     *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_connections", Help: "Open WebSocket connections.",
		}),
		connectionsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_connections_total", Help: "WebSocket connections accepted since start.",
		}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_subscriptions", Help: "Current topic subscriptions on this node.",
		}),
		topics: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_topics", Help: "Topics with at least one subscriber on this node.",
		}),
		messagesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_messages_received_total", Help: "WebSocket data messages received from clients.",
		}),
		messagesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_messages_sent_total", Help: "WebSocket frames written to clients.",
		}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_received_bytes_total", Help: "Payload bytes received from clients.",
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_sent_bytes_total", Help: "Bytes written to clients, frame headers included.",
		}),
		publications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_publications_total", Help: "Publications fanned out on this node.",
		}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_slow_consumer_disconnects_total", Help: "Connections closed because their outbound queue overflowed or a write timed out.",
		}),
		handshakeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_handshake_failures_total", Help: "Upgrade requests refused, by reason.",
		}, []string{"reason"}),
		webhookFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_webhook_failures_total", Help: "Webhook requests that failed, by event and reason (timeout, status, request, response).",
		}, []string{"event", "reason"}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_api_requests_total", Help: "HTTP API requests, by result (ok or the error code).",
		}, []string{"result"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_pushes_total", Help: "Messages received from push handlers, by provider and outcome (success or fail).",
		}, []string{"provider", "outcome"}),
		brokerFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_broker_publish_failures_total", Help: "Publications the broker could not carry (nothing was delivered).",
		}),
		nodeIDCollisions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_node_id_collisions_total", Help: "Announcements of this node's id by another process (session ids may collide).",
		}),
		limitRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_limit_refusals_total", Help: "Messages and connections refused by a limit, by limit (the server.* configuration key).",
		}, []string{"limit"}),
		brokerReady: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_broker_ready", Help: "1 while the broker can carry publications.",
		}),
	}
	m.registry.MustRegister(
		m.connections, m.connectionsTotal, m.subscriptions, m.topics,
		m.messagesIn, m.messagesOut, m.bytesIn, m.bytesOut, m.publications,
		m.slowConsumers, m.handshakeFailures, m.webhookFailures, m.apiRequests, m.pushes, m.brokerFailures, m.brokerReady, m.nodeIDCollisions, m.limitRefusals,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.brokerReady.Set(1)
	for _, reason := range handshakeFailureReasons {
		m.handshakeFailures.WithLabelValues(reason)
	}
	for _, limit := range limitNames {
		m.limitRefusals.WithLabelValues(limit)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
