// Package client is a WAMP v1 client: the protocol of Ratchet,
// GosWebSocketBundle, OroSyncBundle and AutobahnJS 0.8, spoken over
// WebSocket (ws:// or wss://).
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
// Besides serving as herald's command-line publisher, the package is built
// for testing WAMP servers: WriteRaw and WriteRawBytes send malformed input,
// OnText sees frames that are not WAMP, and CloseStatus reports the close
// code the server sent.
package client
