package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/wamp"
)

func ExampleClient_CallV2() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws://localhost:8080/ws", client.Options{
		Protocol: client.ProtocolV2JSON,
		Realm:    "realm1",
		OnEventV2: func(ev client.Event) {
			fmt.Printf("%s: %s\n", ev.Topic, ev.Payload.Args)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if _, err := c.SubscribeWith(ctx, "com.acme.", client.SubscribeOptions{Match: wamp.MatchPolicyPrefix}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Register(ctx, "com.acme.add", func(_ context.Context, inv client.Invocation) (wamp.Payload, error) {
		var n []int
		if err := json.Unmarshal(inv.Payload.Args, &n); err != nil || len(n) != 2 {
			return wamp.Payload{}, &client.CallError{URI: wamp.URIInvalidArgument, Description: "want two integers"}
		}
		return wamp.Payload{Args: json.RawMessage(fmt.Sprintf("[%d]", n[0]+n[1]))}, nil
	}, client.RegisterOptions{}); err != nil {
		log.Fatal(err)
	}
	res, err := c.CallV2(ctx, "com.acme.add", wamp.Payload{Args: json.RawMessage(`[1,2]`)}, client.CallOptions{Timeout: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(res.Args))
}
