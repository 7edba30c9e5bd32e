package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/heraldws/herald/client"
)

func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws://localhost:8080/", client.Options{
		OnEvent: func(topic string, event json.RawMessage) {
			fmt.Printf("%s: %s\n", topic, event)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if err := c.Subscribe("acme/channel"); err != nil {
		log.Fatal(err)
	}
	if err := c.Publish("acme/channel", map[string]string{"msg": "hello"}, client.ExcludeMe()); err != nil {
		log.Fatal(err)
	}
	sum, err := c.Call(ctx, "sample/sum", 1, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(sum))
}
