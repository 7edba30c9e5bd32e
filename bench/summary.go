package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// How a run ended (Summary.EndedBy).
const (
	// EndedComplete: every expected delivery arrived.
	EndedComplete = "complete"
	// EndedDrain: the drain time passed with deliveries still missing.
	EndedDrain = "drain"
	// EndedDuration: Config.Duration passed first.
	EndedDuration = "duration"
	// EndedInterrupted: the caller's context ended (Ctrl-C).
	EndedInterrupted = "interrupted"
	// EndedAborted: more than 1% of the connections failed.
	EndedAborted = "aborted"
)

// Summary is the outcome of a run; its JSON form is what `herald bench
// --json` writes (docs/bench.md describes every field).
type Summary struct {
	Target     string  `json:"target"`
	Protocol   string  `json:"protocol"`
	Via        string  `json:"via"`
	Conns      int     `json:"conns"`
	Topics     int     `json:"topics"`
	Messages   int     `json:"messages"`
	Rate       float64 `json:"rate"`
	Publishers int     `json:"publishers"`
	// Ack is Config.Ack: each publisher waited for every publication's
	// acknowledgement before the next.
	Ack     bool `json:"ack"`
	Size    int  `json:"size"`
	Sources int  `json:"sources"`

	// EndedBy is how the run ended: complete, drain, duration,
	// interrupted or aborted.
	EndedBy string `json:"ended_by"`
	// Seconds is the length of the whole run.
	Seconds float64 `json:"seconds"`

	Connect  ConnectSummary  `json:"connect"`
	Publish  PublishSummary  `json:"publish"`
	Delivery DeliverySummary `json:"delivery"`
	Latency  LatencySummary  `json:"latency_us"`
	Memory   MemorySummary   `json:"memory"`

	// Errors holds the first message of each of the first ten kinds of
	// error, with "(×N)" when the kind occurred N > 1 times; ErrorCount
	// counts them all.
	Errors     []string `json:"errors"`
	ErrorCount int64    `json:"error_count"`

	// OK is true when the run completed with no loss and no duplicates:
	// what the exit status of `herald bench` reports.
	OK bool `json:"ok"`
}

// ConnectSummary describes the connect and subscribe phases.
type ConnectSummary struct {
	// Connected counts the subscriber connections whose handshake and
	// WELCOME succeeded; Failed those that did not.
	Connected int `json:"connected"`
	Failed    int `json:"failed"`
	// Seconds is the time from the first dial to the last WELCOME;
	// HandshakesPerSec is Connected / Seconds.
	Seconds          float64 `json:"seconds"`
	HandshakesPerSec float64 `json:"handshakes_per_sec"`
	// Subscribed counts the subscribers that received a probe event,
	// NotSubscribed the connected ones that did not within the subscribe
	// timeout; SubscribeSeconds is how long that took.
	Subscribed       int     `json:"subscribed"`
	NotSubscribed    int     `json:"not_subscribed"`
	SubscribeSeconds float64 `json:"subscribe_seconds"`
	// Dropped counts the subscriber connections that ended before the run
	// closed them.
	Dropped int `json:"dropped"`
}

// PublishSummary describes the publish phase. Probes are not counted.
type PublishSummary struct {
	// Intended is Topics × Messages.
	Intended int `json:"intended"`
	// Sent counts the publications the server accepted: written to the
	// socket (WAMP), acknowledged (WAMP with Config.Ack), answered 200
	// (HTTP) or confirmed by RabbitMQ (AMQP).
	Sent int `json:"sent"`
	// Failed counts the publications that got an error; Unsent those
	// never attempted (a publisher failed, or the run ran out of time).
	Failed int `json:"failed"`
	Unsent int `json:"unsent"`
	// Refused counts the CALLERROR or ERROR answers WAMP publishers got
	// (with Config.Ack, those that answered a publication count in Failed
	// too).
	Refused int `json:"refused"`
	// Seconds is the time from the first publication to the last
	// outcome; PerSec is Sent / Seconds.
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_sec"`
	// Latency is the publisher side's own latency: for every publication
	// that got an outcome (sent or failed), the time from the start of
	// its publish call to that outcome. What ends it depends on the way
	// of publishing (PublisherLatencyEnd): the write of the batch that
	// carried it (WAMP), its acknowledgement (WAMP with Config.Ack), the
	// API's answer read (HTTP), RabbitMQ's confirmation seen (AMQP).
	Latency LatencySummary `json:"latency_us"`
	// Response is the server's own answer time, for publishers that wait
	// for an answer (HTTP, WAMP with Config.Ack): from the start of the
	// request's write to the kernel's receive timestamp of the answer
	// (SO_TIMESTAMPNS on Linux; elsewhere the read's return). Unlike
	// Latency, it leaves out the time the bench's own goroutines took to
	// notice the answer, which on a core busy reading the deliveries can
	// be milliseconds. Count is 0 for the other ways of publishing.
	Response LatencySummary `json:"response_us"`
}

// PublisherLatencyEnd names what ends a publication's publisher latency
// for a way of publishing and Config.Ack: "written", "acknowledged",
// "answered" or "confirmed".
func PublisherLatencyEnd(via string, ack bool) string {
	switch {
	case via == ViaHTTP:
		return "answered"
	case via == ViaAMQP:
		return "confirmed"
	case ack:
		return "acknowledged"
	}
	return "written"
}

// DeliverySummary describes the events the subscribers received.
type DeliverySummary struct {
	// Expected is Connected × Messages: every connected subscriber should
	// get every sequence number of its topic.
	Expected int64 `json:"expected"`
	// Delivered counts every event received (duplicates included, probes
	// excluded); Unique the distinct sequence numbers.
	Delivered int64 `json:"delivered"`
	Unique    int64 `json:"unique"`
	// Seconds is the time from the first publication to the last
	// delivery; PerSec is Delivered / Seconds.
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_sec"`
	// Lost is Expected − Unique; LostUnpublished is the part of it that
	// was never published (Sent < Intended).
	Lost            int64 `json:"lost"`
	LostUnpublished int64 `json:"lost_unpublished"`
	// Duplicates counts events received again; OutOfOrder those with a
	// sequence number below one the subscriber already had; Unexpected
	// events that could not be read or had an unknown sequence number.
	Duplicates int64 `json:"duplicates"`
	OutOfOrder int64 `json:"out_of_order"`
	Unexpected int64 `json:"unexpected"`
	// SubscribersWithLoss counts the subscribers missing at least one
	// event; WorstSubscriberLoss is the most any one missed.
	SubscribersWithLoss int   `json:"subscribers_with_loss"`
	WorstSubscriberLoss int64 `json:"worst_subscriber_loss"`
}

// LatencySummary is a latency distribution in microseconds: in
// Summary.Latency, the publish → deliver latency of the first delivery of
// each event (receive time − the event's "t"); in PublishSummary.Latency,
// the publishers' own.
type LatencySummary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// MemorySummary is the server's resident memory before connecting and
// after connecting, subscribing and idling.
type MemorySummary struct {
	// Measured is false when neither the PID nor the metrics URL
	// answered; Note then says why. When the RSS fell (a server that is
	// not fresh), Measured is true and Note says so.
	Measured bool   `json:"measured"`
	Source   string `json:"source,omitempty"`
	// RSSBefore and RSSAfter are in bytes; PerConn is (RSSAfter −
	// RSSBefore) / Connected.
	RSSBefore int64   `json:"rss_before_bytes"`
	RSSAfter  int64   `json:"rss_after_bytes"`
	PerConn   float64 `json:"per_conn_bytes"`
	// ServerConnectionsBefore and ServerConnectionsAfter are the server's
	// herald_connections gauge at the two readings, -1 when unknown.
	ServerConnectionsBefore int64 `json:"server_connections_before"`
	ServerConnectionsAfter  int64 `json:"server_connections_after"`
	// IdleSeconds is Config.Idle.
	IdleSeconds float64 `json:"idle_seconds"`
	Note        string  `json:"note,omitempty"`
}

// micros converts a duration to microseconds.
func micros(d time.Duration) float64 { return float64(d) / 1e3 }

// WriteText prints the summary for people.
func (s *Summary) WriteText(w io.Writer) {
	rate := "as fast as possible"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%g/s", s.Rate)
	}
	ack := ""
	if s.Ack {
		ack = " waiting for each acknowledgement"
	}
	fmt.Fprintf(w, "herald bench: %s, %s via %s; %d conns over %d source addresses, %d topics × %d messages of ~%d B, %d publishers%s, %s\n",
		s.Target, s.Protocol, s.Via, s.Conns, s.Sources, s.Topics, s.Messages, s.Size, s.Publishers, ack, rate)
	c := s.Connect
	fmt.Fprintf(w, "connect:     %d conns in %.3f s = %.0f handshakes/s (%d failed); %d subscribed in %.3f s",
		c.Connected, c.Seconds, c.HandshakesPerSec, c.Failed, c.Subscribed, c.SubscribeSeconds)
	if c.NotSubscribed > 0 {
		fmt.Fprintf(w, ", %d NOT subscribed", c.NotSubscribed)
	}
	if c.Dropped > 0 {
		fmt.Fprintf(w, "; %d connections dropped", c.Dropped)
	}
	fmt.Fprintln(w)
	p := s.Publish
	fmt.Fprintf(w, "publish:     %d of %d msgs in %.3f s = %.0f/s", p.Sent, p.Intended, p.Seconds, p.PerSec)
	if p.Failed > 0 || p.Unsent > 0 || p.Refused > 0 {
		fmt.Fprintf(w, " (%d failed, %d unsent, %d refused)", p.Failed, p.Unsent, p.Refused)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "publisher:   %s\n", fmtLatency(p.Latency, "; time from publish to "+PublisherLatencyEnd(s.Via, s.Ack)))
	if p.Response.Count > 0 {
		fmt.Fprintf(w, "answers:     %s\n", fmtLatency(p.Response, "; request written → answer received by the kernel"))
	}
	d := s.Delivery
	fmt.Fprintf(w, "deliveries:  %d of expected %d in %.3f s = %.0f/s\n", d.Delivered, d.Expected, d.Seconds, d.PerSec)
	fmt.Fprintf(w, "latency:     %s\n", fmtLatency(s.Latency, ""))
	fmt.Fprintf(w, "loss:        %d lost", d.Lost)
	if d.LostUnpublished > 0 {
		fmt.Fprintf(w, " (%d never published)", d.LostUnpublished)
	}
	fmt.Fprintf(w, ", %d duplicates, %d out of order", d.Duplicates, d.OutOfOrder)
	if d.Unexpected > 0 {
		fmt.Fprintf(w, ", %d unexpected", d.Unexpected)
	}
	fmt.Fprintf(w, "; %d subscribers with loss", d.SubscribersWithLoss)
	if d.SubscribersWithLoss > 0 {
		fmt.Fprintf(w, " (worst missed %d)", d.WorstSubscriberLoss)
	}
	fmt.Fprintln(w)
	m := s.Memory
	if m.Measured {
		fmt.Fprintf(w, "memory:      server RSS %s before, %s after %d conns", fmtBytes(float64(m.RSSBefore)), fmtBytes(float64(m.RSSAfter)), c.Connected)
		if m.IdleSeconds > 0 {
			fmt.Fprintf(w, " and %.0f s idle", m.IdleSeconds)
		}
		fmt.Fprintf(w, " = %s per connection (%s", fmtBytes(m.PerConn), m.Source)
		if m.ServerConnectionsAfter >= 0 {
			fmt.Fprintf(w, "; herald_connections %d → %d", m.ServerConnectionsBefore, m.ServerConnectionsAfter)
		}
		fmt.Fprintln(w, ")")
		if m.Note != "" {
			fmt.Fprintf(w, "             note: %s\n", m.Note)
		}
	} else {
		fmt.Fprintf(w, "memory:      not measured (%s)\n", m.Note)
	}
	if len(s.Errors) == 0 {
		fmt.Fprintln(w, "errors:      none")
	} else {
		fmt.Fprintf(w, "errors:      %d; the first of each kind:\n", s.ErrorCount)
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  - %s\n", e)
		}
	}
	verdict := "OK"
	if !s.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "result:      %s (%s after %.1f s)\n", verdict, s.EndedBy, s.Seconds)
}

// fmtLatency prints a latency distribution; note ends the parenthesis
// after the mean and the sample count.
func fmtLatency(l LatencySummary, note string) string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, %d samples%s)",
		fmtMicros(l.P50), fmtMicros(l.P90), fmtMicros(l.P99), fmtMicros(l.P999), fmtMicros(l.Max), fmtMicros(l.Mean), l.Count, note)
}

// fmtMicros prints microseconds with a readable unit.
func fmtMicros(us float64) string {
	d := time.Duration(us * 1e3)
	switch {
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", us)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", us/1e3)
	}
	return fmt.Sprintf("%.3fs", us/1e6)
}

// fmtBytes prints a byte count with a binary unit.
func fmtBytes(b float64) string {
	sign := ""
	if b < 0 {
		sign, b = "-", -b
	}
	units := []string{"B", "KiB", "MiB", "GiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%s%.0f B", sign, b)
	}
	return sign + strings.TrimSuffix(fmt.Sprintf("%.1f", b), ".0") + " " + units[i]
}
