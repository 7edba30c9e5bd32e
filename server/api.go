package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/internal/jsonerr"
	"github.com/heraldws/herald/topic"
	"github.com/heraldws/herald/wamp"
)

// DefaultAPIMaxBody bounds an API request body when Config.APIMaxBody is
// zero.
const DefaultAPIMaxBody = 1 << 20

// APIPublication is one publication of the HTTP API: a topic, or a route
// name and parameters from which the topic is generated, and the data.
type APIPublication struct {
	Topic    string            `json:"topic,omitempty"`
	Route    string            `json:"route,omitempty"`
	Params   map[string]string `json:"params,omitempty"`
	Data     json.RawMessage   `json:"data"`
	Exclude  []string          `json:"exclude,omitempty"`
	Eligible []string          `json:"eligible,omitempty"`
}

// APIError is the JSON body of every API error, and the error of one
// failed publication in a batch.
type APIError struct {
	// Code is a stable machine-readable name: unauthorized, forbidden,
	// api_disabled, bad_request, too_large, no_route, unknown_route,
	// bad_params, refused, method_not_allowed, unavailable, internal (a
	// bug in herald).
	Code    string `json:"code"`
	Message string `json:"message"`
	status  int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), status: status}
}

// apiResult is the answer to one publication.
type apiResult struct {
	Topic string    `json:"topic,omitempty"`
	OK    bool      `json:"ok"`
	Error *APIError `json:"error,omitempty"`
}

// apiInfo is the answer of GET /api/info.
type apiInfo struct {
	Node          string         `json:"node"`
	Version       string         `json:"version"`
	Connections   int            `json:"connections"`
	Subscriptions int            `json:"subscriptions"`
	Topics        []apiTopicInfo `json:"topics"`
	// Nodes lists every node of the cluster heard from recently, this one
	// included, with its own counts.
	Nodes []NodeInfo `json:"nodes"`
}

type apiTopicInfo struct {
	Topic       string `json:"topic"`
	Subscribers int    `json:"subscribers"`
}

// registerAPI adds the HTTP API to the server's mux.
func (s *Server) registerAPI() {
	s.mux.HandleFunc("/api/publish", s.apiHandler(http.MethodPost, s.apiPublish))
	s.mux.HandleFunc("/api/batch", s.apiHandler(http.MethodPost, s.apiBatch))
	s.mux.HandleFunc("/api/info", s.apiHandler(http.MethodGet, s.apiInfo))
}

// apiHandler checks the method and the key, bounds the body and writes the
// JSON answer or error.
func (s *Server) apiHandler(method string, fn func(r *http.Request, body []byte) (any, *APIError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		result, apiErr := s.serveAPI(method, fn, w, r)
		w.Header().Set("Content-Type", "application/json")
		if apiErr != nil {
			s.metrics.apiRequests.WithLabelValues(apiErr.Code).Inc()
			w.WriteHeader(apiErr.status)
			json.NewEncoder(w).Encode(map[string]*APIError{"error": apiErr})
			return
		}
		s.metrics.apiRequests.WithLabelValues("ok").Inc()
		json.NewEncoder(w).Encode(result)
	}
}

func (s *Server) serveAPI(method string, fn func(*http.Request, []byte) (any, *APIError), w http.ResponseWriter, r *http.Request) (any, *APIError) {
	if s.cfg.APIKey == "" {
		return nil, apiErr(http.StatusNotFound, "api_disabled", "the HTTP API is off: set api.key to turn it on")
	}
	key := r.Header.Get("X-API-Key")
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "apikey "); ok {
		key = strings.TrimSpace(v)
	}
	if key == "" {
		return nil, apiErr(http.StatusUnauthorized, "unauthorized", "an API key is required (Authorization: apikey KEY, or X-API-Key)")
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.APIKey)) != 1 {
		return nil, apiErr(http.StatusForbidden, "forbidden", "the API key is wrong")
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		return nil, apiErr(http.StatusMethodNotAllowed, "method_not_allowed", "use %s", method)
	}
	limit := s.cfg.APIMaxBody
	if limit <= 0 {
		limit = DefaultAPIMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apiErr(http.StatusRequestEntityTooLarge, "too_large", "the body is over %d bytes", limit)
		}
		return nil, apiErr(http.StatusBadRequest, "bad_request", "reading the body: %v", err)
	}
	return fn(r, body)
}

func (s *Server) apiPublish(r *http.Request, body []byte) (any, *APIError) {
	var p APIPublication
	if err := strictJSON(body, &p); err != nil {
		return nil, apiErr(http.StatusBadRequest, "bad_request", "the body is not a publication: %s", jsonerr.Describe(body, err))
	}
	res := s.apiPublishOne(r.Context(), &p)
	if res.Error != nil {
		return nil, res.Error
	}
	return res, nil
}

func (s *Server) apiBatch(r *http.Request, body []byte) (any, *APIError) {
	var list []APIPublication
	if err := strictJSON(body, &list); err != nil {
		var wrapped struct {
			Publications []APIPublication `json:"publications"`
		}
		if err2 := strictJSON(body, &wrapped); err2 != nil {
			if bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
				err = err2 // explain the object as the wrapped form
			}
			return nil, apiErr(http.StatusBadRequest, "bad_request", "the body is neither a list of publications nor {\"publications\": [...]}: %s", jsonerr.Describe(body, err))
		}
		list = wrapped.Publications
	}
	results := make([]apiResult, len(list))
	for i := range list {
		results[i] = s.apiPublishOne(r.Context(), &list[i])
	}
	return map[string][]apiResult{"results": results}, nil
}

// apiPublishOne generates the topic when a route is named, then pushes
// through the route's handler as a backend push.
func (s *Server) apiPublishOne(ctx context.Context, p *APIPublication) apiResult {
	name := p.Topic
	switch {
	case p.Topic != "" && p.Route != "":
		return apiResult{Error: apiErr(http.StatusBadRequest, "bad_request", "give a topic or a route, not both")}
	case p.Route != "":
		if s.cfg.Router == nil {
			return apiResult{Error: apiErr(http.StatusNotFound, "unknown_route", "no routing files are configured, so there is no route %q", p.Route)}
		}
		var err error
		if name, err = s.cfg.Router.Generate(p.Route, p.Params); err != nil {
			return apiResult{Error: generateErr(err)}
		}
	case p.Topic == "":
		return apiResult{Error: apiErr(http.StatusBadRequest, "bad_request", "a topic or a route is required")}
	}
	if len(p.Data) == 0 {
		return apiResult{Topic: name, Error: apiErr(http.StatusBadRequest, "bad_request", "data is required")}
	}
	err := s.Push(ctx, name, &PushEvent{Payload: wamp.PayloadOfV1(p.Data), Provider: "http", Audience: Audience{Exclude: p.Exclude, Eligible: p.Eligible}})
	switch {
	case err == nil:
		return apiResult{Topic: name, OK: true}
	case errors.Is(err, ErrNoRoute):
		return apiResult{Topic: name, Error: apiErr(http.StatusNotFound, "no_route", "no route matches the topic %q", name)}
	case errors.Is(err, broker.ErrUnavailable):
		return apiResult{Topic: name, Error: apiErr(http.StatusServiceUnavailable, "unavailable", "the broker is unavailable: nothing was published; retry later")}
	default:
		return apiResult{Topic: name, Error: apiErr(http.StatusForbidden, "refused", "%v", err)}
	}
}

// generateErr maps an error of Router.Generate to the API's: 404
// unknown_route for a route the router does not hold, 422 bad_params for
// parameters that are missing or break a requirement (checked as matching
// checks them, so the topic is never one no route matches).
func generateErr(err error) *APIError {
	var (
		missing   *topic.MissingParametersError
		invalid   *topic.InvalidParameterError
		unmatched *topic.UnmatchedChannelError
	)
	msg := strings.TrimPrefix(err.Error(), "topic: ")
	switch {
	case errors.Is(err, topic.ErrUnknownRoute):
		return apiErr(http.StatusNotFound, "unknown_route", "%s", msg)
	case errors.As(err, &missing), errors.As(err, &invalid), errors.As(err, &unmatched):
		return apiErr(http.StatusUnprocessableEntity, "bad_params", "%s", msg)
	}
	return apiErr(http.StatusInternalServerError, "internal", "generating the topic: %s", msg)
}

func (s *Server) apiInfo(*http.Request, []byte) (any, *APIError) {
	info := apiInfo{Node: s.ids.nodeID(), Version: Version, Topics: []apiTopicInfo{}, Nodes: s.clusterNodes(time.Now())}
	s.mu.Lock()
	info.Connections = len(s.byID)
	s.mu.Unlock()
	for i := range s.hub.shards {
		sh := &s.hub.shards[i]
		sh.mu.RLock()
		for name, t := range sh.topics {
			t.mu.RLock()
			n := len(t.subs)
			t.mu.RUnlock()
			info.Subscriptions += n
			info.Topics = append(info.Topics, apiTopicInfo{Topic: name, Subscribers: n})
		}
		sh.mu.RUnlock()
	}
	sort.Slice(info.Topics, func(i, j int) bool { return info.Topics[i].Topic < info.Topics[j].Topic })
	return info, nil
}

// strictJSON decodes one JSON value, refusing unknown fields and trailing
// data. Its errors are encoding/json's, for jsonerr.Describe.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := body[dec.InputOffset():]; len(bytes.Trim(rest, " \t\r\n")) > 0 {
		// Unmarshal's *json.SyntaxError points at the trailing data.
		return json.Unmarshal(body, new(any))
	}
	return nil
}
