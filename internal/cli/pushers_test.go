package cli

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/internal/config"
)

// pushers.amqp.consume_delay and pushers.zmq.consume_delay reach the push
// handlers: the default when absent, 0 when written 0s.
func TestPushHandlersGetTheConsumeDelay(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want time.Duration
	}{
		{"", config.DefaultConsumeDelay},
		{"consume_delay: 0s", 0},
		{"consume_delay: 1500ms", 1500 * time.Millisecond},
	} {
		cfg := loadCfg(t, "pushers:\n  amqp: {host: h, login: l, "+tc.key+"}\n  zmq: {host: h, "+tc.key+"}\n")
		if got := amqpConfig(cfg.Pushers.AMQP, nil).ConsumeDelay; got != tc.want {
			t.Errorf("%q: amqp ConsumeDelay %v; want %v", tc.key, got, tc.want)
		}
		if got := zmqConfig(cfg.Pushers.ZMQ, nil).ConsumeDelay; got != tc.want {
			t.Errorf("%q: zmq ConsumeDelay %v; want %v", tc.key, got, tc.want)
		}
	}
}

// A section with enabled: false cannot push: the error names the key and
// its file:line. Without --via, herald push needs exactly one pusher on.
func TestPushRefusesDisabledPushers(t *testing.T) {
	cfg := writeConfig(t, `pushers:
  amqp:
    enabled: false
    host: 127.0.0.1
  zmq:
    enabled: false
    host: 127.0.0.1
  wamp:
    enabled: false
    host: 127.0.0.1
    port: 8080
`)
	for via, want := range map[string]string{
		"amqp": cfg + ":3: pushers.amqp.enabled: false turns the AMQP pusher off; set it to true (or remove it) to push via amqp",
		"zmq":  cfg + ":6: pushers.zmq.enabled: false turns the ZMQ pusher off; set it to true (or remove it) to push via zmq",
		"wamp": cfg + ":9: pushers.wamp.enabled: false turns the WAMP pusher off; set it to true (or remove it), or give --url",
	} {
		if _, err := runOut(t, "push", "-c", cfg, "--via", via, "acme/channel", "1"); err == nil || err.Error() != want {
			t.Errorf("--via %s: %v\nwant %s", via, err, want)
		}
	}
	if _, err := runOut(t, "push", "-c", cfg, "acme/channel", "1"); err == nil || !strings.Contains(err.Error(), "no pusher is on") {
		t.Errorf("no --via, every pusher off: %v", err)
	}

	two := writeConfig(t, "pushers:\n  amqp: {host: 127.0.0.1, login: guest}\n  zmq: {enabled: false, host: 127.0.0.1}\n  wamp: {host: 127.0.0.1, port: 8080}\n")
	if _, err := runOut(t, "push", "-c", two, "acme/channel", "1"); err == nil || err.Error() != "--via is required: the pushers section of -c turns on amqp, wamp; choose one" {
		t.Errorf("no --via, two pushers on: %v", err)
	}
	noPort := writeConfig(t, "pushers:\n  wamp:\n    host: 127.0.0.1\n")
	if _, err := runOut(t, "push", "-c", noPort, "acme/channel", "1"); err == nil || !strings.HasPrefix(err.Error(), noPort+":2: pushers.wamp.port: required") {
		t.Errorf("pushers.wamp without a port: %v", err)
	}
}

// `herald serve` with pushers.amqp.enabled: false declares nothing and
// consumes nothing on the real RabbitMQ: the queue never exists. The same
// section with enabled: true declares it.
func TestServeWithAMQPDisabledDeclaresNothing(t *testing.T) {
	rabbitUp(t)
	port := freePort(t)
	name := "herald_cli_disabled_" + strconv.Itoa(port)
	section := func(enabled bool) string {
		return writeConfig(t, fmt.Sprintf("server:\n  port: %d\npushers:\n  amqp:\n    enabled: %v\n    host: 127.0.0.1\n    login: guest\n    password: guest\n    queue_name: %s\n    exchange_name: herald_cli_test\n    consume_delay: 0s\n", port, enabled, name))
	}
	t.Cleanup(func() { exec.Command("rabbitmqctl", "delete_queue", name).Run() })
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	queueExists := func() bool {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		_, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
		var aerr *amqp.Error
		if err != nil && (!errors.As(err, &aerr) || aerr.Code != amqp.NotFound) {
			t.Fatalf("queue %s: %v", name, err)
		}
		return err == nil
	}

	r := startServe(t, "-c", section(false))
	r.stop() // a push handler would have started, and ended, by now
	log := r.log.String()
	if strings.Contains(log, "push handler started") || !strings.Contains(log, "pushers.amqp.enabled is false") {
		t.Fatalf("serve log:\n%s", log)
	}
	if queueExists() {
		t.Fatalf("queue %s was declared by a serve with enabled: false", name)
	}

	r = startServe(t, "-c", section(true))
	deadline := time.Now().Add(waitTimeout)
	for !queueExists() {
		if time.Now().After(deadline) {
			t.Fatalf("enabled: true did not declare queue %s:\n%s", name, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.stop()
}

// `herald serve` with pushers.zmq.enabled: false binds nothing.
func TestServeWithZMQDisabledBindsNothing(t *testing.T) {
	zport := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("server:\n  port: %d\npushers:\n  zmq:\n    enabled: false\n    host: 127.0.0.1\n    port: %d\n    consume_delay: 0\n", freePort(t), zport))
	r := startServe(t, "-c", cfg)
	r.stop()
	if log := r.log.String(); strings.Contains(log, "push handler started") || !strings.Contains(log, "pushers.zmq.enabled is false") {
		t.Fatalf("serve log:\n%s", log)
	}
}
