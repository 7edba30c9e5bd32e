package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/topic"
)

// errNoMatch makes `herald routes --match` exit non-zero.
var errNoMatch = errors.New("no route matches")

type routesOptions struct {
	configPath string
	format     string
	match      string
}

func newRoutesCmd(stdout io.Writer) *cobra.Command {
	var o routesOptions
	cmd := &cobra.Command{
		Use:   "routes [ROUTE]",
		Short: "List, match and validate the routing files",
		Long: `List the routes of the configured routing files (server.router.resources),
with their pattern, callback, handler, requirements and where they are
declared, like gos:pubsub-router:debug. Loading validates the files and the
handler of every callback, as herald serve does at start-up.

--match CHANNEL prints the route and parameters that match a channel, or
why each of the closest routes does not; it exits non-zero when none does.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return runRoutes(o, name, stdout)
		},
	}
	cmd.Flags().StringVarP(&o.configPath, "config", "c", "", "configuration file (YAML)")
	cmd.Flags().StringVar(&o.format, "format", "txt", "output format: txt or json")
	cmd.Flags().StringVar(&o.match, "match", "", "print the route matching this channel")
	return cmd
}

// routeInfo is one route in the JSON output.
type routeInfo struct {
	Name         string            `json:"name"`
	Pattern      string            `json:"pattern"`
	Callback     string            `json:"callback"`
	Handler      string            `json:"handler"`
	Requirements map[string]string `json:"requirements,omitempty"`
	Defaults     map[string]string `json:"defaults,omitempty"`
	Source       string            `json:"source,omitempty"`
}

type matchInfo struct {
	Channel string            `json:"channel"`
	Matched bool              `json:"matched"`
	Route   *routeInfo        `json:"route,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	Near    []missInfo        `json:"near,omitempty"`
}

type missInfo struct {
	Route  string `json:"route"`
	Reason string `json:"reason"`
}

func runRoutes(o routesOptions, name string, stdout io.Writer) error {
	if o.format != "txt" && o.format != "json" {
		return fmt.Errorf("--format must be txt or json, not %q", o.format)
	}
	cfg, err := loadServeConfig(serveOptions{configPath: o.configPath})
	if err != nil {
		return err
	}
	rt, err := loadRouting(cfg)
	if err != nil {
		return err
	}
	if rt.router == nil {
		return errors.New("no routing files are configured (server.router.resources): every topic is an open broadcast topic")
	}
	binds := server.OroHandlers()
	maps.Copy(binds, rt.handlers)
	info := func(r *topic.Route) *routeInfo {
		ri := &routeInfo{Name: r.Name, Pattern: r.Pattern, Callback: r.Callback, Handler: handlerName(binds[r.Callback]),
			Requirements: r.Requirements, Defaults: r.Defaults}
		if r.Source.File != "" {
			ri.Source = fmt.Sprintf("%s:%d", r.Source.File, r.Source.Line)
		}
		return ri
	}

	if o.match != "" {
		mi := matchInfo{Channel: o.match}
		if m, ok := rt.router.Match(o.match); ok {
			mi.Matched, mi.Route, mi.Params = true, info(m.Route), m.Params
		} else {
			for _, miss := range rt.router.Explain(o.match, 5) {
				mi.Near = append(mi.Near, missInfo{Route: miss.Route.Name, Reason: miss.Reason})
			}
		}
		if o.format == "json" {
			if err := writeJSON(stdout, mi); err != nil {
				return err
			}
		} else {
			printMatch(stdout, mi)
		}
		if !mi.Matched {
			return fmt.Errorf("%w %q", errNoMatch, o.match)
		}
		return nil
	}

	var list []*routeInfo
	for _, r := range rt.router.Routes() {
		if name == "" || r.Name == name {
			list = append(list, info(r))
		}
	}
	if name != "" && len(list) == 0 {
		return fmt.Errorf("no route is named %q", name)
	}
	if o.format == "json" {
		return writeJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPATTERN\tCALLBACK\tHANDLER\tREQUIREMENTS\tSOURCE")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Pattern, r.Callback, r.Handler, formatMap(r.Requirements), r.Source)
	}
	return tw.Flush()
}

func printMatch(w io.Writer, mi matchInfo) {
	if mi.Matched {
		fmt.Fprintf(w, "%q matches route %s (pattern %s, callback %s, handler %s", mi.Channel, mi.Route.Name, mi.Route.Pattern, mi.Route.Callback, mi.Route.Handler)
		if mi.Route.Source != "" {
			fmt.Fprintf(w, ", %s", mi.Route.Source)
		}
		fmt.Fprintln(w, ")")
		for _, k := range slices.Sorted(maps.Keys(mi.Params)) {
			fmt.Fprintf(w, "  %s = %s\n", k, mi.Params[k])
		}
		return
	}
	fmt.Fprintf(w, "no route matches %q\n", mi.Channel)
	for _, n := range mi.Near {
		fmt.Fprintf(w, "  %s: %s\n", n.Route, n.Reason)
	}
}

func formatMap(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+": "+m[k])
	}
	return strings.Join(parts, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
