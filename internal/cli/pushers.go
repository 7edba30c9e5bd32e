package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/heraldws/herald/internal/config"
	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/push/amqppush"
	"github.com/heraldws/herald/push/zmqpush"
	"github.com/heraldws/herald/server"
)

// amqpConfig maps pushers.amqp to the transport's configuration.
func amqpConfig(c config.AMQPPusher, log *slog.Logger) amqppush.Config {
	return amqppush.Config{
		Host: c.Host, Port: c.Port, Login: c.Login, Password: c.Password, Vhost: c.Vhost,
		ReadTimeout: c.ReadTimeout.D(), WriteTimeout: c.WriteTimeout.D(), ConnectTimeout: c.ConnectTimeout.D(),
		QueueName: c.QueueName, ExchangeName: c.ExchangeName,
		Bind:       c.Bind == nil || *c.Bind,
		RoutingKey: c.RoutingKey, Prefetch: c.Prefetch, ConnectionName: c.ConnectionName,
		Persistent: c.Persistent, ConsumeDelay: c.Delay(), Logger: log,
	}
}

// zmqConfig maps pushers.zmq to the transport's configuration.
func zmqConfig(c config.ZMQPusher, log *slog.Logger) zmqpush.Config {
	zc := zmqpush.Config{Host: c.Host, Port: c.Port, Protocol: c.Protocol, ConsumeDelay: c.Delay(), Logger: log}
	zc.Linger = -1
	if c.Linger != nil && *c.Linger >= 0 {
		zc.Linger = time.Duration(*c.Linger) * time.Millisecond
	}
	return zc
}

// amqpPusherConfig is pushers.amqp for a pusher (herald push, herald
// bench), or an error saying why the section cannot push: enabled is
// false (the error names the key's file:line), or there is no host.
func amqpPusherConfig(cfg *config.Config, log *slog.Logger) (amqppush.Config, error) {
	a := cfg.Pushers.AMQP
	if a.Disabled() {
		return amqppush.Config{}, cfg.Errorf("pushers.amqp.enabled", "false turns the AMQP pusher off; set it to true (or remove it) to push via amqp")
	}
	if a.Host == "" {
		return amqppush.Config{}, fmt.Errorf("--via amqp needs pushers.amqp in the configuration (-c)")
	}
	return amqpConfig(a, log), nil
}

// zmqPusherConfig is pushers.zmq for a pusher, or an error as
// amqpPusherConfig's.
func zmqPusherConfig(cfg *config.Config, log *slog.Logger) (zmqpush.Config, error) {
	z := cfg.Pushers.ZMQ
	if z.Disabled() {
		return zmqpush.Config{}, cfg.Errorf("pushers.zmq.enabled", "false turns the ZMQ pusher off; set it to true (or remove it) to push via zmq")
	}
	if z.Host == "" {
		return zmqpush.Config{}, fmt.Errorf("--via zmq needs pushers.zmq in the configuration (-c)")
	}
	return zmqConfig(z, log), nil
}

// pushersOn lists the pushers the pushers section turns on, in the
// order amqp, zmq, wamp.
func pushersOn(c config.Pushers) []string {
	var on []string
	for _, p := range []struct {
		name string
		on   bool
	}{{"amqp", c.AMQP.On()}, {"zmq", c.ZMQ.On()}, {"wamp", c.WAMP.On()}} {
		if p.on {
			on = append(on, p.name)
		}
	}
	return on
}

// pushHandlers builds the push handlers that pushers configures to run in
// herald serve. A section whose enabled is false builds none, and is
// logged.
func pushHandlers(cfg *config.Config, log *slog.Logger) ([]push.Handler, error) {
	c := cfg.Pushers
	var hs []push.Handler
	var errs []error
	if c.AMQP.Disabled() {
		log.Info("pushers.amqp.enabled is false: no AMQP push handler (nothing is declared or consumed)")
	}
	if c.ZMQ.Disabled() {
		log.Info("pushers.zmq.enabled is false: no ZMQ push handler (nothing is bound)")
	}
	if c.AMQP.Active() {
		if h, err := amqppush.NewHandler(amqpConfig(c.AMQP, log)); err != nil {
			errs = append(errs, cfg.Errorf("pushers.amqp", "%w", err))
		} else {
			hs = append(hs, h)
		}
	}
	if c.ZMQ.Active() {
		if h, err := zmqpush.NewHandler(zmqConfig(c.ZMQ, log)); err != nil {
			errs = append(errs, cfg.Errorf("pushers.zmq", "%w", err))
		} else {
			hs = append(hs, h)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return hs, nil
}

// pushRunner runs push handlers into the server until stopped, reporting
// every push_success and push_fail to the log, the metrics, the optional
// events webhook and Events.
type pushRunner struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	hook   *push.EventWebhook
	// Events receives every outcome; embedding programs register here.
	Events push.Events
}

func startPushHandlers(handlers []push.Handler, srv *server.Server, eventsWebhook string, log *slog.Logger) *pushRunner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &pushRunner{cancel: cancel}
	if eventsWebhook != "" {
		r.hook = push.NewEventWebhook(eventsWebhook, log)
		r.Events.On(r.hook.Report)
	}
	r.Events.On(func(ev push.Event) {
		srv.CountPush(ev.Provider, ev.Success())
		if !ev.Success() {
			log.Warn("push_fail", "provider", ev.Provider, "topic", ev.Topic, "err", ev.Err)
		}
	})
	for _, h := range handlers {
		log.Info("push handler started", "provider", h.Name())
		r.wg.Go(func() {
			if err := h.Run(ctx, srv, r.Events.Report); err != nil {
				log.Error("push handler stopped", "provider", h.Name(), "err", err)
			}
		})
	}
	return r
}

// stop ends the push handlers and waits for them: messages in flight are
// not acknowledged, so a queue redelivers them.
func (r *pushRunner) stop() {
	r.cancel()
	r.wg.Wait()
	if r.hook != nil {
		r.hook.Close()
	}
}
