package push

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/heraldws/herald/topic"
)

// HTTPPusher pushes through herald's HTTP API (POST /api/publish). With a
// router it generates the channel itself and sends {"topic", "data"};
// without one it sends {"route", "params", "data"} and the server
// generates the channel from its own routing files.
type HTTPPusher struct {
	// URL is the server's base URL, such as http://127.0.0.1:8080.
	URL string
	// Key is the API key (api.key).
	Key string
	// Router generates channels locally. Nil lets the server do it.
	Router *topic.Router
	// Client sends the requests. Nil means a client with a 10 s timeout.
	Client *http.Client
}

var _ Pusher = (*HTTPPusher)(nil)

// Push implements Pusher. opts may hold "exclude" and "eligible" session
// id lists ([]string).
func (p *HTTPPusher) Push(ctx context.Context, data any, route string, params map[string]string, opts map[string]any) error {
	raw, err := Data(data)
	if err != nil {
		return err
	}
	body := map[string]any{"data": raw}
	if p.Router != nil {
		channel, err := Channel(p.Router, route, params)
		if err != nil {
			return err
		}
		body["topic"] = channel
	} else if strings.Contains(route, "/") && len(params) == 0 {
		body["topic"] = route // a channel given directly
	} else {
		body["route"], body["params"] = route, params
	}
	for _, k := range []string{"exclude", "eligible"} {
		if v, ok := opts[k]; ok {
			body[k] = v
		}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("push: encoding the request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(p.URL, "/")+"/api/publish", bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", p.Key)
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(answer, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("push: the server answered %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("push: the server answered %s", resp.Status)
	}
	return nil
}

// Close implements Pusher.
func (p *HTTPPusher) Close() error { return nil }
