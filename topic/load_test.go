package topic

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestLoadFormats(t *testing.T) {
	dir := writeTree(t, map[string]string{"routing.yml": `# formats A, B, C side by side
oro_email.event:
    channel: 'oro/email_event/{user_id}/{organization_id}'
    handler:
        callback: 'oro_email.event'
        args: [ '@doctrine' ]
    requirements:
        user_id:
            pattern: '\d+'
        organization_id:
            pattern: '\d+'
            wildcard: true

acme_chat:
    channel: acme/chat/{room}/{page}
    handler: acme.topic.chat
    defaults: { page: 1 }
    requirements: { room: '[a-z]+' }
    options: { utf8: true, custom: [1, 2] }

acme_multi:
    channel: acme/multi
    handler: [ acme.topic.one, acme.topic.two ]

acme_rpc:
    pattern: 'sample/{method<[a-z_]+>?ping}'
    callback: 'acme.rpc'

acme_class:
    channel: acme/class
    handler: { callback: [ 'Acme\Topic', 'onPublish' ] }

acme_nulls:
    pattern: ~
    channel: acme/nulls
    callback: cb
    handler: ~
    requirements: ~

acme_bool_default:
    pattern: acme/{flag}/{off}
    callback: cb
    defaults: { flag: true, off: false }
`})
	routes, err := Load([]Resource{{Resource: "routing.yml"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "routing.yml")
	want := []*Route{
		{
			Name: "oro_email.event", Pattern: "oro/email_event/{user_id}/{organization_id}",
			Callback: "oro_email.event", Callbacks: []string{"oro_email.event"},
			Requirements: map[string]string{"user_id": `\d+`, "organization_id": `\d+|\*`},
			Wildcards:    map[string]bool{"organization_id": true},
			Source:       Source{file, 2},
		},
		{
			Name: "acme_chat", Pattern: "acme/chat/{room}/{page}",
			Callback: "acme.topic.chat", Callbacks: []string{"acme.topic.chat"},
			Defaults:     map[string]string{"page": "1"},
			Requirements: map[string]string{"room": "[a-z]+"},
			Options:      map[string]any{"utf8": true, "custom": []any{1, 2}},
			Source:       Source{file, 14},
		},
		{
			Name: "acme_multi", Pattern: "acme/multi",
			Callback: "acme.topic.one", Callbacks: []string{"acme.topic.one", "acme.topic.two"},
			Source: Source{file, 21},
		},
		{
			Name: "acme_rpc", Pattern: "sample/{method}",
			Callback: "acme.rpc", Callbacks: []string{"acme.rpc"},
			Requirements: map[string]string{"method": "[a-z_]+"},
			Defaults:     map[string]string{"method": "ping"},
			Source:       Source{file, 25},
		},
		{
			Name: "acme_class", Pattern: "acme/class",
			Callback: `Acme\Topic`, Callbacks: []string{`Acme\Topic`, "onPublish"},
			Source: Source{file, 29},
		},
		{
			Name: "acme_nulls", Pattern: "acme/nulls",
			Callback: "cb", Callbacks: []string{"cb"},
			Source: Source{file, 33},
		},
		{
			Name: "acme_bool_default", Pattern: "acme/{flag}/{off}",
			Callback: "cb", Callbacks: []string{"cb"},
			Defaults: map[string]string{"flag": "1", "off": ""},
			Source:   Source{file, 40},
		},
	}
	if len(routes) != len(want) {
		t.Fatalf("got %d routes %q, want %d", len(routes), names(routes), len(want))
	}
	for i, w := range want {
		g := routes[i]
		if g.Name != w.Name || g.Pattern != w.Pattern || g.Callback != w.Callback || !slices.Equal(g.Callbacks, w.Callbacks) ||
			!maps.Equal(g.Requirements, w.Requirements) || !maps.Equal(g.Defaults, w.Defaults) ||
			!maps.Equal(g.Wildcards, w.Wildcards) || g.Source != w.Source || len(g.Options) != len(w.Options) {
			t.Errorf("route %d:\n got %+v\nwant %+v", i, *g, *w)
		}
	}
	if o := routes[1].Options; o["utf8"] != true || len(o["custom"].([]any)) != 2 {
		t.Errorf("options = %v", o)
	}
	if _, err := NewRouter(routes, Options{}); err != nil {
		t.Errorf("NewRouter: %v", err)
	}
}

func TestLoadDefinitionErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       [][]string
	}{
		{"both channel and pattern", "r:\n  channel: a\n  pattern: b\n  callback: c\n",
			[][]string{{"routing.yml:1:", `route "r"`, `must not specify both the "channel" key and the "pattern" key`}}},
		{"both handler and callback", "r:\n  pattern: a\n  handler: b\n  callback: c\n",
			[][]string{{"routing.yml:1:", `route "r"`, `must not specify both the "handler" key and the "callback" key`}}},
		{"no pattern", "r:\n  callback: c\n",
			[][]string{{"routing.yml:1:", `route "r"`, `you must define a "pattern"`}}},
		{"null pattern", "r:\n  pattern: ~\n  callback: c\n",
			[][]string{{"routing.yml:1:", `route "r"`, `you must define a "pattern"`}}},
		{"no callback", "r:\n  pattern: a\n",
			[][]string{{"routing.yml:1:", `route "r"`, `you must define a "callback"`}}},
		{"unknown keys", "r:\n  pattern: a\n  callback: c\n  methods: [GET]\n  host: x\n",
			[][]string{{"routing.yml:4:", `route "r"`, `unsupported keys "methods", "host"`,
				`expected one of "resource", "type", "channel", "pattern", "handler", "callback", "defaults", "requirements", "options", "exclude"`}}},
		{"one unknown key", "r:\n  pattern: a\n  callback: c\n  requirement: {}\n",
			[][]string{{"routing.yml:4:", `unsupported key "requirement"`}}},
		{"type without resource", "r:\n  pattern: a\n  callback: c\n  type: yaml\n",
			[][]string{{"routing.yml:4:", `route "r"`, `"type" key is only available for imports`}}},
		{"resource and pattern", "r:\n  resource: x.yml\n  pattern: a\n",
			[][]string{{"routing.yml:1:", `route "r"`, `must not specify both the "resource" key and the "pattern" key`}}},
		{"requirements as a list", "r:\n  pattern: a/{x}\n  callback: c\n  requirements: ['\\d+']\n",
			[][]string{{"routing.yml:4:", `route "r"`, `placeholder name must be a string (0 given)`, `"\\d+"`}}},
		{"integer requirement key", "r:\n  pattern: a/{x}\n  callback: c\n  requirements: { 0: '\\d+' }\n",
			[][]string{{"routing.yml:4:", `placeholder name must be a string (0 given)`}}},
		{"requirement map without pattern", "r:\n  channel: a/{x}\n  handler: { callback: c }\n  requirements: { x: { wildcard: true } }\n",
			[][]string{{"routing.yml:4:", `requirement for "x" is a map without a "pattern"`}}},
		{"handler map without callback", "r:\n  channel: a\n  handler: { args: [] }\n",
			[][]string{{"routing.yml:3:", `route "r"`, `"handler" map has no "callback"`}}},
		{"empty callback list", "r:\n  pattern: a\n  callback: []\n",
			[][]string{{"routing.yml:3:", `"callback" list is empty`}}},
		{"pattern is a map", "r:\n  pattern: {a: b}\n  callback: c\n",
			[][]string{{"routing.yml:2:", `"pattern" must be a string, not a map`}}},
		{"definition is not a map", "r: oro/ping\n",
			[][]string{{"routing.yml:1:", `route "r"`, "the definition must be a map, not a scalar"}}},
		{"definition is null", "r:\n",
			[][]string{{"routing.yml:1:", `route "r"`, "the definition must be a map, not null"}}},
		{"defaults must be scalars", "r:\n  pattern: a/{x}\n  callback: c\n  defaults: { x: [1] }\n",
			[][]string{{"routing.yml:4:", `default for "x" must be a scalar`}}},
		{"key twice", "r:\n  pattern: a\n  callback: c\n  callback: d\n",
			[][]string{{"routing.yml:4:", `key "callback" is given twice (first at line 3)`}}},
		{"invalid YAML", "r:\n  pattern: [a\n  callback: c\n",
			[][]string{{"routing.yml:", "invalid YAML"}}},
		{"file is a list", "- a\n- b\n",
			[][]string{{"routing.yml:1:", "the file must be a YAML map"}}},
		{"every problem is reported", "a:\n  pattern: x\nb:\n  pattern: y\n  callback: c\nc:\n  callback: z\n",
			[][]string{{"routing.yml:1:", `route "a"`, `"callback"`}, {"routing.yml:6:", `route "c"`, `"pattern"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"routing.yml": tt.yaml})
			_, err := Load([]Resource{{Resource: "routing.yml"}}, dir)
			wantErrs(t, err, tt.want...)
			if !isRouteError(err) {
				t.Errorf("%v is not made of *RouteError", err)
			}
		})
	}
}

func TestLoadEmptyFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{"empty.yml": "", "comment.yml": "# nothing\n", "null.yml": "~\n", "one.yml": "one:\n    pattern: one\n    callback: cb\n"})
	for _, f := range []string{"empty.yml", "comment.yml", "null.yml"} {
		// An empty file among others is fine.
		routes, err := Load([]Resource{{Resource: f}, {Resource: "one.yml"}}, dir)
		if err != nil || !slices.Equal(names(routes), []string{"one"}) {
			t.Errorf("%s and one.yml: routes %q, %v", f, names(routes), err)
		}
		// Alone, it leaves the server without a route.
		routes, err = Load([]Resource{{Resource: f}}, dir)
		if !errors.Is(err, ErrNoRoutes) || len(routes) != 0 || !isRouteError(err) {
			t.Errorf("%s alone: %d routes, %v; want ErrNoRoutes", f, len(routes), err)
		}
		wantErrs(t, err, []string{"topic: no routes: ", strconv.Quote(f) + " (" + filepath.Join(dir, f) + ")", "1 routing file and not one route definition"})
	}
	_, err := Load([]Resource{{Resource: "empty.yml"}, {Resource: "null.yml"}}, dir)
	wantErrs(t, err, []string{`"empty.yml" (`, `"null.yml" (`, "2 routing files"})
}

func TestLoadNoRoutingFile(t *testing.T) {
	oroApp := writeTree(t, map[string]string{
		"src/Acme/Bundle/ChatBundle/Resources/config/oro/websocket_routing.yml": "acme.chat:\n    channel: acme/chat\n    handler: { callback: acme.chat }\n",
		"config/config.yml": "framework: ~\n",
	})
	dir := writeTree(t, map[string]string{
		"empty/.keep":             "",
		"docs/readme.md":          "no routes here",
		"docs/sub/notes.txt":      "none here either",
		"oroish/vendor/oro/x.txt": "",
		"symfony/composer.json":   "{}",
		"symfony/config/a.yml":    "framework: ~\n",
		"vendored/vendor/a.yml":   "x: ~\n",
		"routes/a.yml":            "a:\n    pattern: a\n    callback: cb\nnone:\n    resource: 'none/*.yml'\nnodir:\n    resource: nothing\n    type: directory\n",
		"routes/nothing/x.md":     "",
	})
	tests := []struct {
		name string
		res  Resource
		base string
		want []string
	}{
		{"glob matches nothing", Resource{Resource: "routes/*.yaml"}, dir, []string{
			`resource "routes/*.yaml" (` + filepath.Join(dir, "routes", "*.yaml") + `) yields no routing file`, "looked for files matching the glob"}},
		{"typed glob matches nothing", Resource{Resource: "routes/b.yml", Type: "glob"}, dir, []string{`"routes/b.yml"`, "files matching the glob"}},
		{"empty directory", Resource{Resource: "empty"}, dir, []string{
			`resource "empty" (` + filepath.Join(dir, "empty") + `) yields no routing file`, "*.yml and *.yaml files in the directory and its subdirectories"}},
		{"typed directory without YAML", Resource{Resource: "docs", Type: "directory"}, dir, []string{`"docs"`, "yields no routing file"}},
		{"glob in an Oro tree", Resource{Resource: "*.yml"}, oroApp, []string{"yields no routing file", oroApp + " holds Oro routing files (src/Acme/Bundle/ChatBundle/Resources/config/oro/websocket_routing.yml)", "type: oro"}},
		{"Oro tree as a plain directory", Resource{Resource: oroApp}, "", []string{
			"resource " + strconv.Quote(oroApp) + " is an Oro application (it holds src/Acme/Bundle/ChatBundle/Resources/config/oro/websocket_routing.yml)",
			"not a directory of routing files", "write { resource: " + strconv.Quote(oroApp) + ", type: oro }"}},
		{"Oro tree as a typed directory", Resource{Resource: "testdata/oro", Type: "directory"}, ".", []string{
			`"testdata/oro"`, "an Oro application (it holds src/Oro/Bundle/EmailBundle/Resources/config/oro/websocket_routing.yml and 6 more routing files)", `write { resource: "testdata/oro", type: oro }`}},
		{"Oro vendor tree", Resource{Resource: "oroish"}, dir, []string{"an Oro application (it has vendor/oro/)", "type: oro"}},
		{"Symfony application root", Resource{Resource: "symfony"}, dir, []string{"an application root (it has composer.json)", "name the routing files instead"}},
		{"vendor directory", Resource{Resource: "vendored"}, dir, []string{"an application root (it has vendor/)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Load([]Resource{tt.res}, tt.base)
			if len(routes) != 0 || !isRouteError(err) {
				t.Errorf("routes %q, error %v", names(routes), err)
			}
			wantErrs(t, err, tt.want)
		})
	}
	_, err := Load([]Resource{{Resource: "empty"}}, dir)
	if nf, ok := errors.AsType[*NoRoutingFileError](err); !ok || nf.Resource != "empty" || nf.Path != filepath.Join(dir, "empty") {
		t.Errorf("error %v: want a *NoRoutingFileError for %q", err, "empty")
	}
	// Inside a file, an import that yields nothing loads nothing, as in
	// PubSubRouter; the file's own route counts.
	routes, err := Load([]Resource{{Resource: "routes/a.yml"}}, dir)
	if err != nil || !slices.Equal(names(routes), []string{"a"}) {
		t.Errorf("imports yielding nothing: routes %q, %v", names(routes), err)
	}
	// Each resource is checked: one good one does not hide an empty one.
	_, err = Load([]Resource{{Resource: "routes/a.yml"}, {Resource: "empty"}}, dir)
	wantErrs(t, err, []string{`"empty"`, "yields no routing file"})
}

func TestLoadDirectoryRecursesInNameOrder(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"r/a.yml":            "a:\n    pattern: a\n    callback: cb\n",
		"r/b/x.yaml":         "x:\n    pattern: x\n    callback: cb\n",
		"r/b/deeper/y.yml":   "y:\n    pattern: y\n    callback: cb\n",
		"r/c.yml":            "c:\n    pattern: c\n    callback: cb\n",
		"r/.hidden/h.yml":    "h:\n    pattern: h\n    callback: cb\n",
		"r/notes.txt":        "skipped",
		"php/a.yml":          "a:\n    pattern: a\n    callback: cb\n",
		"php/sub/routes.php": "<?php",
		"php/sub/routes.xml": "<routes/>",
	})
	// Symfony's DirectoryLoader order: a subdirectory's files where its
	// name sorts (r/b/deeper before r/b/x.yaml).
	for _, res := range []Resource{{Resource: "r"}, {Resource: "r", Type: "directory"}, {Resource: "r/"}} {
		routes, err := Load([]Resource{res}, dir)
		if got, want := names(routes), []string{"a", "y", "x", "c"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("%+v: routes %q, %v; want %q", res, got, err, want)
		}
	}
	// A symbolic link back up is followed once.
	if err := os.Symlink(filepath.Join(dir, "r"), filepath.Join(dir, "r", "b", "loop")); err == nil {
		routes, err := Load([]Resource{{Resource: "r"}}, dir)
		if got, want := names(routes), []string{"a", "y", "x", "c"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("with a link loop: routes %q, %v; want %q", got, err, want)
		}
	}
	// PHP and XML routing files are refused, not skipped.
	routes, err := Load([]Resource{{Resource: "php"}}, dir)
	wantErrs(t, err,
		[]string{filepath.Join(dir, "php", "sub", "routes.php"), `resource type "php" is not supported by herald`},
		[]string{"routes.xml", `resource type "xml" is not supported by herald`})
	if !slices.Equal(names(routes), []string{"a"}) {
		t.Errorf("routes %q, want the YAML file's", names(routes))
	}
}

func TestLoadYAMLAnchorsAndMerge(t *testing.T) {
	dir := writeTree(t, map[string]string{"r.yml": `base: &base
    pattern: acme/{id}
    callback: acme.cb
    requirements: { id: '\d+' }
other:
    <<: *base
    pattern: acme/other/{id}
`})
	routes, err := Load([]Resource{{Resource: "r.yml"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 2 || routes[1].Pattern != "acme/other/{id}" || routes[1].Callback != "acme.cb" || routes[1].Requirements["id"] != `\d+` {
		t.Errorf("merge: %+v", routes[1])
	}
}

func TestLoadImports(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"config/routing.yml": `first:
    pattern: first
    callback: cb
imports:
    resource: 'routes/*.yml'
    exclude: 'routes/skip*.yml'
    defaults: { page: '1' }
    requirements: { id: '\d+' }
    options: { utf8: true }
last:
    pattern: last
    callback: cb
`,
		"config/routes/b.yml":     "b:\n    pattern: b/{id}\n    callback: cb\n    requirements: { id: '[a-z]+' }\n",
		"config/routes/a.yml":     "a:\n    pattern: a/{id}\n    callback: cb\nnested:\n    resource: ../more/c.yaml\n",
		"config/routes/skip1.yml": "skipped:\n    pattern: s\n    callback: cb\n",
		"config/more/c.yaml":      "c:\n    pattern: c\n    callback: cb\n",
	})
	routes, err := Load([]Resource{{Resource: "config/routing.yml"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(routes), []string{"first", "a", "c", "b", "last"}; !slices.Equal(got, want) {
		t.Fatalf("routes = %q, want %q", got, want)
	}
	for _, r := range routes[1:4] {
		if r.Defaults["page"] != "1" || r.Requirements["id"] != `\d+` || r.Options["utf8"] != true {
			t.Errorf("%s: import overrides not applied: %+v", r.Name, r)
		}
	}
	if routes[0].Defaults != nil || routes[4].Requirements != nil {
		t.Error("import overrides leaked to routes outside the import")
	}
	if want := filepath.Join(dir, "config/more/c.yaml"); routes[2].Source != (Source{want, 1}) {
		t.Errorf("c source = %v", routes[2].Source)
	}

	exList := writeTree(t, map[string]string{
		"main.yml":        "all:\n    resource: 'r/**/*.yml'\n    exclude: ['r/x.yml', 'r/sub']\n",
		"r/x.yml":         "x:\n    pattern: x\n    callback: cb\n",
		"r/y.yml":         "y:\n    pattern: y\n    callback: cb\n",
		"r/sub/z.yml":     "z:\n    pattern: z\n    callback: cb\n",
		"r/deep/er/w.yml": "w:\n    pattern: w\n    callback: cb\n",
	})
	routes, err = Load([]Resource{{Resource: "main.yml"}}, exList)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(routes), []string{"w", "y"}; !slices.Equal(got, want) {
		t.Errorf("exclude list: routes = %q, want %q", got, want)
	}
}

func TestLoadImportErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  [][]string
	}{
		{"cycle", map[string]string{
			"a.yml": "r:\n    pattern: a\n    callback: cb\nimp:\n    resource: b.yml\n",
			"b.yml": "back:\n    resource: a.yml\n",
		}, [][]string{{"b.yml:2:", "import cycle:", "a.yml → ", "b.yml → ", "a.yml"}}},
		{"self import", map[string]string{
			"a.yml": "me:\n    resource: a.yml\n",
		}, [][]string{{"a.yml:2:", "import cycle"}}},
		{"glob including itself", map[string]string{
			"a.yml": "all:\n    resource: '*.yml'\n",
			"b.yml": "b:\n    pattern: b\n    callback: cb\n",
		}, [][]string{{"a.yml:2:", "import cycle"}}},
		{"missing file", map[string]string{
			"a.yml": "imp:\n    resource: nope.yml\n",
		}, [][]string{{"a.yml:2:", "nope.yml", "file not found"}}},
		{"bundle path", map[string]string{
			"a.yml": "imp:\n    resource: '@AcmeBundle/Resources/config/pubsub.yml'\n",
		}, [][]string{{"a.yml:2:", "bundle paths"}}},
		{"php import", map[string]string{
			"a.yml": "imp:\n    resource: routes.php\n    type: php\n",
		}, [][]string{{"a.yml:2:", `resource type "php" is not supported by herald: convert the routes to YAML`}}},
		{"bad glob", map[string]string{
			"a.yml": "imp:\n    resource: 'x/[a.yml'\n",
		}, [][]string{{"a.yml:2:", "bad glob"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			_, err := Load([]Resource{{Resource: "a.yml"}}, dir)
			wantErrs(t, err, tt.want...)
		})
	}
}

func TestLoadResourceTypes(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"d/b.yml":        "b:\n    pattern: b\n    callback: cb\n",
		"d/a.yaml":       "a:\n    pattern: a\n    callback: cb\n",
		"d/c.YML":        "c:\n    pattern: c\n    callback: cb\n",
		"d/readme.md":    "not routes",
		"d/.hidden.yml":  "h:\n    pattern: h\n    callback: cb\n",
		"d/sub/z.yml":    "z:\n    pattern: z\n    callback: cb\n",
		"g/one.yml":      "one:\n    pattern: one\n    callback: cb\n",
		"g/two.yml":      "two:\n    pattern: two\n    callback: cb\n",
		"g/x/three.yml":  "three:\n    pattern: three\n    callback: cb\n",
		"g/x/y/four.yml": "four:\n    pattern: four\n    callback: cb\n",
		"oro.txt":        "x:\n    channel: x\n    handler: { callback: x }\n",
		"routes.php":     "<?php",
		"routes.xml":     "<routes/>",
	})
	tests := []struct {
		name string
		res  []Resource
		want []string
	}{
		{"directory, auto", []Resource{{Resource: "d"}}, []string{"a", "b", "c", "z"}},
		{"directory, typed", []Resource{{Resource: "d", Type: "directory"}}, []string{"a", "b", "c", "z"}},
		{"glob, auto", []Resource{{Resource: "g/*.yml"}}, []string{"one", "two"}},
		{"glob, typed", []Resource{{Resource: "g/t*.yml", Type: "glob"}}, []string{"two"}},
		{"glob **", []Resource{{Resource: "g/**/*.yml"}}, []string{"one", "two", "three", "four"}},
		{"glob ** last", []Resource{{Resource: "g/x/**"}}, []string{"three", "four"}},
		{"glob braces", []Resource{{Resource: "g/{two,one}.yml"}}, []string{"one", "two"}},
		{"glob class", []Resource{{Resource: "g/[!o]*.yml"}}, []string{"two"}},
		{"yaml type, any extension", []Resource{{Resource: "oro.txt", Type: "yaml"}}, []string{"x"}},
		{"oro BC type", []Resource{{Resource: "oro.txt", Type: "oro_websocket_routing_yaml"}}, []string{"x"}},
		{"resources in order", []Resource{{Resource: "g/two.yml"}, {Resource: "d/a.yaml"}, {Resource: "g/one.yml", Type: "yaml"}}, []string{"two", "a", "one"}},
		{"absolute path", []Resource{{Resource: filepath.Join(dir, "g", "one.yml")}}, []string{"one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Load(tt.res, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(routes); !slices.Equal(got, tt.want) {
				t.Errorf("routes = %q, want %q", got, tt.want)
			}
		})
	}

	for _, typ := range []string{"php", "xml", "closure", "container", "service"} {
		_, err := Load([]Resource{{Resource: "routes." + typ, Type: typ}}, dir)
		wantErrs(t, err, []string{`resource type "` + typ + `" is not supported by herald: convert the routes to YAML`})
	}
	_, err := Load([]Resource{{Resource: "routes.php"}, {Resource: "routes.xml"}, {Resource: "oro.txt"}}, dir)
	wantErrs(t, err,
		[]string{`resource type "php" is not supported by herald`},
		[]string{`resource type "xml" is not supported by herald`},
		[]string{"oro.txt", "not a YAML file"})
	_, err = Load([]Resource{{Resource: "d", Type: "annotation"}}, dir)
	wantErrs(t, err, []string{`unknown resource type "annotation"`})
	_, err = Load([]Resource{{Resource: "nope.yml"}}, dir)
	wantErrs(t, err, []string{"nope.yml", "file not found"})
	_, err = Load([]Resource{{Resource: "%kernel.project_dir%/config/routing.yml"}}, dir)
	wantErrs(t, err, []string{"container parameters"})
	_, err = Load([]Resource{{Resource: ""}}, dir)
	wantErrs(t, err, []string{"empty path"})
}

func TestLoadOroLayout(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"vendor/oro/platform/src/Oro/Bundle/B/Resources/config/oro/websocket_routing.yml": "b:\n    channel: b\n    handler: { callback: b }\n",
		"src/Acme/Bundle/A/Resources/config/oro/websocket_routing.yml":                    "a:\n    channel: a\n    handler: { callback: a }\n",
		"src/Acme/Bundle/A/Resources/config/oro/other.yml":                                "no:\n    channel: no\n    handler: { callback: no }\n",
		"node_modules/x/Resources/config/oro/websocket_routing.yml":                       "nm:\n    channel: nm\n    handler: { callback: nm }\n",
		".git/Resources/config/oro/websocket_routing.yml":                                 "git:\n    channel: git\n    handler: { callback: git }\n",
		"config/oro/websocket_routing/z.yml":                                              "app_z:\n    pattern: z\n    callback: z\n",
		"config/oro/websocket_routing/m.yml":                                              "app_m:\n    pattern: m\n    callback: m\n",
		"config/oro/websocket_routing/skip.yaml":                                          "app_skip:\n    pattern: s\n    callback: s\n",
	})
	routes, err := Load([]Resource{{Resource: dir, Type: "oro"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(routes), []string{"a", "b", "app_m", "app_z"}; !slices.Equal(got, want) {
		t.Errorf("routes = %q, want %q", got, want)
	}
	_, err = Load([]Resource{{Resource: "config", Type: "oro"}}, dir)
	wantErrs(t, err, []string{"no Resources/config/oro/websocket_routing.yml"})
	_, err = Load([]Resource{{Resource: "missing", Type: "oro"}}, dir)
	wantErrs(t, err, []string{"not a directory"})
}

func TestLoadSymlinkLoop(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"src/A/Resources/config/oro/websocket_routing.yml": "a:\n    channel: a\n    handler: { callback: a }\n",
	})
	if err := os.Symlink(dir, filepath.Join(dir, "src", "loop")); err != nil {
		t.Skip("symlinks:", err)
	}
	routes, err := Load([]Resource{{Resource: dir, Type: "oro"}, {Resource: "src/**/websocket_routing.yml"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(routes); !slices.Equal(got, []string{"a", "a"}) {
		t.Errorf("routes = %q", got)
	}
}

func TestResourceUnmarshalYAML(t *testing.T) {
	var cfg struct {
		Resources []Resource `yaml:"resources"`
	}
	in := "resources:\n  - routing.yml\n  - { resource: 'routes/*.yml', type: glob }\n  - resource: .\n    type: oro\n"
	if err := yaml.Unmarshal([]byte(in), &cfg); err != nil {
		t.Fatal(err)
	}
	want := []Resource{{"routing.yml", ""}, {"routes/*.yml", "glob"}, {".", "oro"}}
	if !slices.Equal(cfg.Resources, want) {
		t.Errorf("resources = %+v, want %+v", cfg.Resources, want)
	}
	if err := yaml.Unmarshal([]byte("resources:\n  - [a, b]\n"), &cfg); err == nil {
		t.Error("a list item decoded into a Resource")
	}
}

func TestExpandBraces(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a/{b,c}.yml", []string{"a/b.yml", "a/c.yml"}},
		{"{a,b}/{c,d}", []string{"a/c", "a/d", "b/c", "b/d"}},
		{"{a,{b,c}}x", []string{"ax", "bx", "cx"}},
		{"{a}", []string{"{a}"}},
		{"plain", []string{"plain"}},
		{"{a,b", []string{"{a,b"}},
	}
	for _, tt := range tests {
		got, err := expandBraces(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("expandBraces(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := expandBraces(strings.Repeat("{a,b}", 9)); err == nil {
		t.Error("512 expansions accepted")
	}
}
