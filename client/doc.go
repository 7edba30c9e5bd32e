// Package client is a WAMP client over WebSocket (ws:// or wss://). It
// speaks WAMP v1, the protocol of Ratchet, GosWebSocketBundle,
// OroSyncBundle and AutobahnJS 0.8, by default, and WAMP v2 when
// Options.Protocol names a v2 serializer.
//
// Dial opens a session and returns once the server's WELCOME has arrived.
// A Client then subscribes, publishes and calls procedures; events are
// delivered to Options.OnEvent. WAMP v1 has no acknowledgements, so
// Subscribe, Unsubscribe, Prefix and Publish return as soon as the message
// is written. Call waits for the CALLRESULT or CALLERROR.
//
//	c, err := client.Dial(ctx, "ws://localhost:8080/", client.Options{
//		OnEvent: func(topic string, event json.RawMessage) { log.Printf("%s: %s", topic, event) },
//	})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	if err := c.Subscribe("acme/channel"); err != nil {
//		return err
//	}
//	err = c.Publish("acme/channel", map[string]string{"msg": "hello"})
//
// Options.Ticket (or TicketFunc) sends an OroSyncBundle ticket, minted with
// the auth package, as the ticket query parameter. Check and CheckSession
// tell whether a server accepts a session and, if not, why (a *CheckError
// with a Reason such as CheckRefused or CheckForbidden), as Oro's
// ConnectionChecker does. Reconnecting keeps one session up across server
// restarts, redialing with backoff and subscribing again.
//
// # WAMP v2
//
// With Options.Protocol set to ProtocolV2JSON, ProtocolV2MsgPack or
// ProtocolV2CBOR, Dial offers that subprotocol, sends HELLO for
// Options.Realm (DefaultRealm, "realm1", by default) announcing the
// publisher, subscriber, caller and callee roles, answers a "ticket"
// CHALLENGE with Options.Ticket or TicketFunc and a "wampcra" one with
// Options.Secret (salted keys included), and returns once WELCOME has
// come. A router's ABORT is an *AbortError. SessionID is then the decimal
// form of SessionNumber, and WelcomeDetails tells the authid, authrole and
// the router's roles. Close says GOODBYE before closing the WebSocket; a
// router's GOODBYE is answered, and GoodbyeReason tells its reason.
//
// The v1 methods keep their signatures and meaning in v2: Subscribe and
// Unsubscribe wait for the router's answer (a refusal is a
// *RequestError), Publish sends the event as the only argument, Call sends
// its arguments as positional arguments and returns the single result
// argument (or the whole payload as {"args":[...],"kwargs":{...}}), and
// OnEvent receives the first argument of each event. The v2 calls take a
// context and a wamp.Payload (positional and keyword arguments, raw JSON
// whatever the serializer):
//
//	c, err := client.Dial(ctx, "ws://localhost:8080/ws", client.Options{
//		Protocol:  client.ProtocolV2MsgPack,
//		Realm:     "acme",
//		AuthID:    "backend",
//		Secret:    secret,
//		OnEventV2: func(ev client.Event) { log.Printf("%s: %s %s", ev.Topic, ev.Payload.Args, ev.Payload.Kwargs) },
//	})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	if _, err := c.SubscribeWith(ctx, "com.acme.", client.SubscribeOptions{Match: wamp.MatchPolicyPrefix}); err != nil {
//		return err
//	}
//	_, err = c.PublishV2(ctx, "com.acme.news", wamp.Payload{Args: json.RawMessage(`["hello"]`)},
//		client.PublishOptions{Acknowledge: true})
//	_, err = c.Register(ctx, "com.acme.echo", func(ctx context.Context, inv client.Invocation) (wamp.Payload, error) {
//		return inv.Payload, nil
//	}, client.RegisterOptions{})
//	res, err := c.CallV2(ctx, "com.acme.echo", wamp.Payload{Args: json.RawMessage(`[1,2]`)},
//		client.CallOptions{Timeout: time.Second})
//
// CallV2 sends a CANCEL when its context ends and can receive progressive
// results; a failed call is a *CallError with the error URI and payload.
// Register runs each invocation's handler on a goroutine of its own whose
// context an INTERRUPT cancels, and which can send progressive results
// with Invocation.Progress; Close cancels the handlers and waits for them.
//
// Besides serving as herald's command-line publisher, the package is built
// for testing WAMP servers: WriteRaw and WriteRawBytes send malformed input,
// OnText sees frames that are not WAMP, and CloseStatus reports the close
// code the server sent.
package client
