package topic

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resource is one item of gos_web_socket's server.router.resources: a
// routing resource and its type. A plain string item is a Resource with an
// empty Type.
type Resource struct {
	// Resource is a path: a file, a glob or a directory (for Type "oro", the
	// root of an Oro application). Relative paths resolve against the
	// baseDir given to Load.
	Resource string `yaml:"resource"`
	// Type is one of:
	//
	//   - ""      detect: a directory, a glob (the path has one of *?[{), or a file
	//   - "yaml"  one YAML file (a glob is expanded)
	//   - "glob"  a glob: *, ?, [...], {a,b} and ** (any depth)
	//   - "directory"  every *.yml and *.yaml file in the directory and, as
	//             Symfony's DirectoryLoader does, in its subdirectories: entries in
	//             name order, a subdirectory where its name sorts, hidden entries
	//             skipped, symbolic links followed (each directory once); a *.php
	//             or *.xml file is an error, other files are skipped. A directory
	//             that looks like an application root (it has composer.json, vendor/,
	//             or Oro's routing files) is refused, with what to write instead
	//   - "oro"   an Oro application root: every **/Resources/config/oro/websocket_routing.yml
	//             under it, sorted by path, then config/oro/websocket_routing/*.yml
	//             (hidden directories and node_modules are skipped; symbolic links
	//             are followed, each directory once)
	//   - "oro_websocket_routing_yaml"  one file in Oro's format (Oro's BC loader)
	//
	// PubSubRouter's "php", "xml", "closure", "container" and "service"
	// resources are not supported.
	//
	// A resource given to Load that yields no routing file (a glob that
	// matches nothing, a directory without YAML files) is an error, a
	// *NoRoutingFileError; inside a routing file, an import that yields
	// nothing loads nothing, as in PubSubRouter.
	Type string `yaml:"type"`
}

// ErrNoRoutes is returned (wrapped in a *RouteError) by Load when its
// resources load without error but define no route at all: no topic would
// have a route.
var ErrNoRoutes = errors.New("topic: no routes")

// NoRoutingFileError is a resource given to Load that yields no routing
// file: a glob that matches no file, a directory without *.yml or *.yaml
// files. Load returns it wrapped in a *RouteError.
type NoRoutingFileError struct {
	// Resource is the path as written.
	Resource string
	// Path is what it resolved to (absolute when Load's baseDir is).
	Path string
	// LookedFor says what was looked for, e.g. "files matching the glob".
	LookedFor string
	// Hint is what to write instead, or "".
	Hint string
}

// Error implements error.
func (e *NoRoutingFileError) Error() string {
	msg := fmt.Sprintf("resource %s yields no routing file: looked for %s", describeResource(e.Resource, e.Path), e.LookedFor)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// describeResource names a resource as written and, when it differs, what
// it resolved to.
func describeResource(resource, path string) string {
	if path == "" || path == resource {
		return strconv.Quote(resource)
	}
	return fmt.Sprintf("%q (%s)", resource, path)
}

// UnmarshalYAML accepts either a string (the path) or a {resource, type} map.
func (r *Resource) UnmarshalYAML(n *yaml.Node) error {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		*r = Resource{Resource: n.Value}
		return nil
	}
	type plain Resource
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = Resource(p)
	return nil
}

// Route definition keys PubSubRouter 2.x accepts (YamlFileLoader::AVAILABLE_KEYS).
var availableKeys = []string{"resource", "type", "channel", "pattern", "handler", "callback", "defaults", "requirements", "options", "exclude"}

// unsupportedTypes are PubSubRouter resource types herald does not load.
var unsupportedTypes = map[string]bool{"php": true, "xml": true, "closure": true, "container": true, "service": true}

var (
	paramRe   = regexp.MustCompile(`%[\w.\\-]+%`)
	yamlErrRe = regexp.MustCompile(`^yaml: line (\d+): `)
)

// maxBraceExpansions bounds the patterns one glob's {a,b} groups expand to.
const maxBraceExpansions = 256

// maxWalkDepth bounds directory recursion for ** and the Oro layout.
const maxWalkDepth = 64

// Load reads the routes of resources, in order. Routes keep the order of
// their files and, within a file, of their definitions; an import inserts
// the imported routes where it stands. Every file may mix the three
// formats, detected per route:
//
//   - A (Oro, PubSubRouter 0.x): channel + handler: {callback} + requirements: {name: {pattern, wildcard}}
//   - B (PubSubRouter 1.x): channel + handler (a string or a list) + defaults, requirements, options
//   - C (PubSubRouter 2.x): pattern + callback + defaults, requirements, options
//
// and 2.x imports (resource, type, exclude; defaults, requirements and
// options then apply to every imported route). Definitions are validated
// as PubSubRouter 2.x validates them. Load reports every problem found,
// joined with errors.Join, each a *RouteError naming the file, the line and
// the route; the routes it could read are returned with the error.
// Duplicate route names are left to NewRouter.
//
// A resource that yields no routing file is an error (*NoRoutingFileError),
// and so are resources that load cleanly but define no route (ErrNoRoutes).
func Load(resources []Resource, baseDir string) ([]*Route, error) {
	l := &loader{}
	for _, res := range resources {
		files, errs := l.files, len(l.errs)
		l.load(res.Resource, res.Type, baseDir, Source{}, nil)
		if l.files == files && len(l.errs) == errs {
			l.errs = append(l.errs, &RouteError{Err: noRoutingFile(res, baseDir)})
		}
		for _, err := range l.errs[errs:] {
			if re, ok := err.(*RouteError); ok && re.Source.File == "" {
				re.Resource = res.Resource
			}
		}
	}
	if len(resources) > 0 && len(l.routes) == 0 && len(l.errs) == 0 {
		l.errs = append(l.errs, &RouteError{Err: noRoutes(resources, baseDir, l.files)})
	}
	return l.routes, errors.Join(l.errs...)
}

// noRoutingFile describes what res was searched for, after it yielded no
// file and no error.
func noRoutingFile(res Resource, baseDir string) *NoRoutingFileError {
	path := resolvePath(res.Resource, baseDir)
	e := &NoRoutingFileError{Resource: res.Resource, Path: path}
	if hasGlobMeta(res.Resource) || res.Type == "glob" {
		e.LookedFor = "files matching the glob (hidden entries match only a pattern that starts with a dot)"
		e.Hint = globHint(path)
		return e
	}
	e.LookedFor = "*.yml and *.yaml files in the directory and its subdirectories (hidden entries skipped)"
	return e
}

// globHint suggests type oro when the directory a glob starts from holds an
// Oro application's routing files.
func globHint(pattern string) string {
	root := pattern
	for hasGlobMeta(root) {
		root = filepath.Dir(root)
	}
	if files := oroFiles(root); len(files) > 0 {
		return fmt.Sprintf("%s holds Oro routing files (%s): write { resource: %q, type: oro }", root, firstOf(root, files), root)
	}
	return ""
}

func noRoutes(resources []Resource, baseDir string, files int) error {
	list := make([]string, len(resources))
	for i, r := range resources {
		list[i] = describeResource(r.Resource, resolvePath(r.Resource, baseDir))
	}
	noun := "files"
	if files == 1 {
		noun = "file"
	}
	return fmt.Errorf("%w: %s loaded %d routing %s and not one route definition, so no topic would have a route: add routes to the files, or name the files that hold them",
		ErrNoRoutes, strings.Join(list, ", "), files, noun)
}

type loader struct {
	routes []*Route
	errs   []error
	stack  []string // files being loaded, outermost first
	files  int      // routing files read
}

func (l *loader) fail(src Source, route, format string, args ...any) {
	l.errs = append(l.errs, routeErr(src, route, format, args...))
}

func resolvePath(p, dir string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[{") }

// excluder holds the paths an import's exclude patterns name.
type excluder map[string]bool

func (e excluder) excluded(p string) bool {
	for ; ; p = filepath.Dir(p) {
		if e[p] {
			return true
		}
		if d := filepath.Dir(p); d == p {
			return false
		}
	}
}

// load loads one resource. from is the import that names it (zero for a
// top-level resource); dir is the directory relative paths resolve against.
func (l *loader) load(resource, typ, dir string, from Source, ex excluder) {
	fail := func(format string, args ...any) {
		l.fail(from, "", "resource %q: "+format, append([]any{resource}, args...)...)
	}
	switch {
	case resource == "":
		fail("empty path")
		return
	case strings.HasPrefix(resource, "@"):
		fail("bundle paths (@Bundle/...) are not supported: give the path relative to the file that names it")
		return
	case paramRe.MatchString(resource):
		fail("container parameters (%%name%%) are not supported: give a real path")
		return
	case unsupportedTypes[typ]:
		fail("resource type %q is not supported by herald: convert the routes to YAML", typ)
		return
	}
	path := resolvePath(resource, dir)
	switch typ {
	case "", "yaml", "glob", "oro_websocket_routing_yaml":
		if hasGlobMeta(resource) || typ == "glob" {
			files, err := globFiles(path, false)
			if err != nil {
				fail("%v", err)
				return
			}
			for _, f := range files {
				if !ex.excluded(f) {
					l.loadFile(f, typ == "" || typ == "glob", from)
				}
			}
			return
		}
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && typ == "" && !isYAMLName(path):
			l.fail(from, "", "resource %s: file or directory not found", describeResource(resource, path))
			return
		case errors.Is(err, fs.ErrNotExist):
			l.fail(from, "", "resource %s: file not found", describeResource(resource, path))
			return
		case err == nil && fi.IsDir() && typ == "":
			l.loadDirResource(resource, path, from, ex)
			return
		}
		if !ex.excluded(path) {
			l.loadFile(path, typ == "", from)
		}
	case "directory":
		l.loadDirResource(resource, path, from, ex)
	case "oro":
		l.loadOro(path, from, ex)
	default:
		fail("unknown resource type %q (herald loads \"\", \"yaml\", \"glob\", \"directory\", \"oro\" and \"oro_websocket_routing_yaml\")", typ)
	}
}

func isYAMLName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

// loadDirResource loads a directory resource (written as resource, resolved
// to dir), unless the directory is an application root.
func (l *loader) loadDirResource(resource, dir string, from Source, ex excluder) {
	if why, oro := appRoot(dir); why != "" {
		advice := "name the routing files instead, e.g. 'config/pubsub/websocket/*.yaml'"
		if oro {
			advice = fmt.Sprintf("for an Oro application write { resource: %q, type: oro }", resource)
		}
		l.fail(from, "", "resource %s is %s, not a directory of routing files (a directory resource loads every *.yml and *.yaml file below it): %s",
			describeResource(resource, dir), why, advice)
		return
	}
	l.loadDir(dir, from, ex, map[string]bool{}, 0)
}

// appRoot says why dir looks like the root of a PHP application rather
// than a directory of routing files ("" when it does not), and whether the
// application is an Oro one.
func appRoot(dir string) (why string, oro bool) {
	if files := oroFiles(dir); len(files) > 0 {
		return "an Oro application (it holds " + firstOf(dir, files) + ")", true
	}
	for _, marker := range []string{"vendor/oro", "config/oro"} {
		if isDir(filepath.Join(dir, filepath.FromSlash(marker))) {
			return "an Oro application (it has " + marker + "/)", true
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "composer.json")); err == nil && fi.Mode().IsRegular() {
		return "an application root (it has composer.json)", false
	}
	if isDir(filepath.Join(dir, "vendor")) {
		return "an application root (it has vendor/)", false
	}
	return "", false
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// firstOf names the first of files relative to root, and how many more
// there are.
func firstOf(root string, files []string) string {
	first := files[0]
	if rel, err := filepath.Rel(root, first); err == nil {
		first = filepath.ToSlash(rel)
	}
	switch n := len(files) - 1; n {
	case 0:
		return first
	case 1:
		return first + " and 1 more routing file"
	default:
		return fmt.Sprintf("%s and %d more routing files", first, n)
	}
}

// loadDir loads every routing file below dir as Symfony's DirectoryLoader
// imports every entry of a directory: in name order, recursing into
// subdirectories where they sort, skipping hidden entries. *.yml and
// *.yaml files are loaded; *.php and *.xml files are errors (herald reads
// YAML routes only); other files are skipped. Symbolic links are followed,
// each directory once.
func (l *loader) loadDir(dir string, from Source, ex excluder, seen map[string]bool, depth int) {
	if depth > maxWalkDepth {
		l.fail(from, "", "directory %q: more than %d levels of subdirectories", dir, maxWalkDepth)
		return
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		if seen[real] {
			return
		}
		seen[real] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		l.fail(from, "", "directory %q: %v", dir, unwrapPathErr(err))
		return
	}
	for _, e := range entries { // sorted by name
		name := e.Name()
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") || ex.excluded(p) {
			continue
		}
		fi, err := os.Stat(p) // follows a symbolic link
		switch {
		case err != nil:
		case fi.IsDir():
			l.loadDir(p, from, ex, seen, depth+1)
		case !fi.Mode().IsRegular():
		case isYAMLName(name):
			l.loadFile(p, false, from)
		case isUnsupportedRoutingName(name):
			l.loadFile(p, true, from) // reports the unsupported type
		}
	}
}

// isUnsupportedRoutingName reports whether name is a PHP or XML file, which
// PubSubRouter would load as routes.
func isUnsupportedRoutingName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".php" || ext == ".xml"
}

// oroFiles lists the routing files of an Oro application rooted at root:
// every bundle's Resources/config/oro/websocket_routing.yml, sorted by
// path, then config/oro/websocket_routing/*.yml (OroSyncBundle's
// WebsocketRouterConfigurationPass collects the first, the application
// adds the second). It returns nil when root is not a directory.
func oroFiles(root string) []string {
	if !isDir(root) {
		return nil
	}
	const suffix = "/Resources/config/oro/websocket_routing.yml"
	var files []string
	walkDirs(root, map[string]bool{}, 0, func(dir string) {
		p := filepath.Join(dir, "websocket_routing.yml")
		if strings.HasSuffix(filepath.ToSlash(p), suffix) {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				files = append(files, p)
			}
		}
	})
	slices.Sort(files)
	app, _ := filepath.Glob(filepath.Join(root, "config", "oro", "websocket_routing", "*.yml"))
	slices.Sort(app)
	return append(files, app...)
}

// loadOro loads an Oro application's routing files (see oroFiles).
func (l *loader) loadOro(root string, from Source, ex excluder) {
	if !isDir(root) {
		l.fail(from, "", "oro resource %q: not a directory", root)
		return
	}
	files := oroFiles(root)
	if len(files) == 0 {
		l.fail(from, "", "oro resource %q: no Resources/config/oro/websocket_routing.yml and no config/oro/websocket_routing/*.yml under it", root)
		return
	}
	for _, f := range files {
		if !ex.excluded(f) {
			l.loadFile(f, false, from)
		}
	}
}

// walkDirs calls visit for dir and every directory under it, skipping
// hidden directories and node_modules, following symbolic links once.
func walkDirs(dir string, seen map[string]bool, depth int, visit func(string)) {
	if depth > maxWalkDepth {
		return
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil || seen[real] {
		return
	}
	seen[real] = true
	visit(dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == "node_modules" {
			continue
		}
		p := filepath.Join(dir, name)
		if e.IsDir() {
			walkDirs(p, seen, depth+1, visit)
		} else if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				walkDirs(p, seen, depth+1, visit)
			}
		}
	}
}

func unwrapPathErr(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// loadFile loads one YAML routing file. auto is true when the type was
// detected, so the extension must say YAML.
func (l *loader) loadFile(path string, auto bool, from Source) {
	if auto && !isYAMLName(path) {
		switch ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), "."); ext {
		case "php", "xml":
			l.fail(from, "", "resource %q: resource type %q is not supported by herald: convert the routes to YAML", path, ext)
		default:
			l.fail(from, "", "resource %q: not a YAML file (.yml or .yaml)", path)
		}
		return
	}
	if i := slices.Index(l.stack, path); i >= 0 {
		chain := append(slices.Clone(l.stack[i:]), path)
		l.fail(from, "", "import cycle: %s", strings.Join(chain, " → "))
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			l.fail(from, "", "resource %q: file not found", path)
		} else {
			l.fail(from, "", "resource %q: %v", path, unwrapPathErr(err))
		}
		return
	}
	l.files++
	l.stack = append(l.stack, path)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	l.parseFile(path, data)
}

func (l *loader) parseFile(path string, data []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 0
		if m := yamlErrRe.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		l.fail(Source{path, line}, "", "invalid YAML: %s", msg)
		return
	}
	if len(doc.Content) == 0 {
		return // empty file
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		l.fail(Source{path, root.Line}, "", "the file must be a YAML map of route names to definitions")
		return
	}
	for _, p := range mapPairs(root, 0) {
		l.parseEntry(path, p.key, p.val)
	}
}

// kv is one key/value pair of a YAML map.
type kv struct{ key, val *yaml.Node }

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 32; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// mapPairs lists a map's pairs in order, resolving aliases and "<<" merge
// keys (merged keys never override explicit ones).
func mapPairs(n *yaml.Node, depth int) []kv {
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.ShortTag() != "!!merge" {
			explicit[k.Value] = true
		}
	}
	var out []kv
	merged := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.ShortTag() != "!!merge" {
			out = append(out, kv{k, v})
			continue
		}
		if depth > 16 || v == nil {
			continue
		}
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, s := range srcs {
			if s = resolve(s); s == nil || s.Kind != yaml.MappingNode {
				continue
			}
			for _, p := range mapPairs(s, depth+1) {
				if !explicit[p.key.Value] && !merged[p.key.Value] {
					merged[p.key.Value] = true
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a map"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	default:
		return "a scalar"
	}
}

// phpString converts a scalar as PHP's string cast would for the common
// cases: booleans become "1" and "".
func phpString(n *yaml.Node) string {
	switch n.ShortTag() {
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil && b {
			return "1"
		}
		return ""
	case "!!null":
		return ""
	}
	return n.Value
}

// parseEntry parses one top-level entry: a route or an import.
func (l *loader) parseEntry(file string, key, val *yaml.Node) {
	name := key.Value
	src := Source{file, key.Line}
	fail := func(line int, format string, args ...any) {
		l.fail(Source{file, line}, name, format, args...)
	}
	if val == nil || val.Kind != yaml.MappingNode {
		fail(key.Line, "the definition must be a map, not %s", kindName(val))
		return
	}
	fields := map[string]*yaml.Node{}
	lines := map[string]int{}
	var extra []string
	extraLine := 0
	for _, p := range mapPairs(val, 0) {
		k := p.key.Value
		if _, dup := lines[k]; dup {
			fail(p.key.Line, "key %q is given twice (first at line %d)", k, lines[k])
			return
		}
		lines[k] = p.key.Line
		if !slices.Contains(availableKeys, k) {
			extra = append(extra, k)
			if extraLine == 0 {
				extraLine = p.key.Line
			}
			continue
		}
		if !isNull(p.val) { // PHP isset(): a null value counts as absent
			fields[k] = p.val
		}
	}
	if extra != nil {
		noun := "key"
		if len(extra) > 1 {
			noun = "keys"
		}
		fail(extraLine, "unsupported %s %s; expected one of %s", noun, quoteList(extra), quoteList(availableKeys))
		return
	}

	if _, ok := fields["resource"]; ok {
		l.parseImport(file, name, src, fields, lines)
		return
	}
	if _, ok := fields["type"]; ok {
		fail(lines["type"], "the \"type\" key is only available for imports, together with \"resource\"")
		return
	}
	pat, hasPattern := fields["pattern"]
	ch, hasChannel := fields["channel"]
	switch {
	case hasPattern && hasChannel:
		fail(key.Line, "must not specify both the \"channel\" key and the \"pattern\" key")
		return
	case hasChannel:
		pat = ch
	case !hasPattern:
		fail(key.Line, "you must define a \"pattern\" (or \"channel\")")
		return
	}
	cbNode, hasCallback := fields["callback"]
	hNode, hasHandler := fields["handler"]
	switch {
	case hasCallback && hasHandler:
		fail(key.Line, "must not specify both the \"handler\" key and the \"callback\" key")
		return
	case hasHandler:
		cbNode = hNode
	case !hasCallback:
		fail(key.Line, "you must define a \"callback\" (or \"handler\")")
		return
	}

	r := &Route{Name: name, Source: src}
	ok := true
	patKey := "pattern"
	if hasChannel {
		patKey = "channel"
	}
	if pat.Kind != yaml.ScalarNode {
		fail(lines[patKey], "%q must be a string, not %s", patKey, kindName(pat))
		ok = false
	} else {
		r.Pattern = pat.Value
	}
	cbKey := "callback"
	if hasHandler {
		cbKey = "handler"
	}
	if cbs, err := parseCallback(cbNode, hasHandler); err != nil {
		fail(lines[cbKey], "%q %v", cbKey, err)
		ok = false
	} else {
		r.Callback, r.Callbacks = cbs[0], cbs
	}
	var err error
	var line int
	if r.Requirements, r.Wildcards, line, err = parseRequirements(fields["requirements"]); err != nil {
		fail(line, "%v", err)
		ok = false
	}
	if r.Defaults, line, err = parseDefaults(fields["defaults"]); err != nil {
		fail(line, "%v", err)
		ok = false
	}
	if r.Options, err = parseOptions(fields["options"]); err != nil {
		fail(lines["options"], "%v", err)
		ok = false
	}
	if !ok {
		return
	}
	p, reqs, defs, errs := extractInline(r.Pattern, name, src, r.Requirements, r.Defaults)
	if errs != nil {
		l.errs = append(l.errs, errs...)
		return
	}
	r.Pattern = strings.Trim(p, " \t\n\r\x00\x0B")
	r.Requirements = mergeMap(r.Requirements, reqs)
	r.Defaults = mergeMap(r.Defaults, defs)
	l.routes = append(l.routes, r)
}

// parseCallback reads a callback: a string, a list of strings (1.x: several
// topic services; 0.x: [class, method]), or for handler a format A map
// {callback: ..., args: ...}.
func parseCallback(n *yaml.Node, isHandler bool) ([]string, error) {
	if isHandler && n.Kind == yaml.MappingNode {
		var cb *yaml.Node
		for _, p := range mapPairs(n, 0) {
			if p.key.Value == "callback" && !isNull(p.val) {
				cb = p.val
			}
		}
		if cb == nil {
			return nil, errors.New("map has no \"callback\"")
		}
		n = cb
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return nil, errors.New("is empty")
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			c = resolve(c)
			if c.Kind != yaml.ScalarNode || isNull(c) || c.Value == "" {
				return nil, errors.New("list must hold non-empty strings")
			}
			out = append(out, c.Value)
		}
		if len(out) == 0 {
			return nil, errors.New("list is empty")
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a string or a list of strings, not %s", kindName(n))
}

// parseRequirements reads requirements: placeholder → regex string, or
// (format A) placeholder → {pattern, wildcard}. A truthy wildcard is folded
// into the regex as `P|\*`, as Oro's BC loader does.
func parseRequirements(n *yaml.Node) (map[string]string, map[string]bool, int, error) {
	if n == nil {
		return nil, nil, 0, nil
	}
	if n.Kind == yaml.SequenceNode {
		first := ""
		if len(n.Content) > 0 {
			first = resolve(n.Content[0]).Value
		}
		return nil, nil, n.Line, fmt.Errorf("a placeholder name must be a string (0 given): did you forget the placeholder key for the requirement %q?", first)
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, n.Line, fmt.Errorf("\"requirements\" must be a map, not %s", kindName(n))
	}
	reqs := map[string]string{}
	var wild map[string]bool
	for _, p := range mapPairs(n, 0) {
		name := p.key.Value
		if p.key.ShortTag() == "!!int" {
			return nil, nil, p.key.Line, fmt.Errorf("a placeholder name must be a string (%s given): did you forget the placeholder key for the requirement %q?", name, p.val.Value)
		}
		v := p.val
		switch {
		case isNull(v):
			return nil, nil, p.key.Line, fmt.Errorf("requirement for %q has no value", name)
		case v.Kind == yaml.ScalarNode:
			reqs[name] = phpString(v)
		case v.Kind == yaml.MappingNode:
			var pat *yaml.Node
			var w any
			for _, q := range mapPairs(v, 0) {
				switch q.key.Value {
				case "pattern":
					pat = q.val
				case "wildcard":
					if err := q.val.Decode(&w); err != nil {
						return nil, nil, q.key.Line, fmt.Errorf("requirement for %q: wildcard: %v", name, err)
					}
				}
			}
			if isNull(pat) || pat.Kind != yaml.ScalarNode {
				return nil, nil, p.key.Line, fmt.Errorf("requirement for %q is a map without a \"pattern\" string", name)
			}
			reqs[name] = phpString(pat)
			if phpTruthy(w) {
				reqs[name] += `|\*`
				if wild == nil {
					wild = map[string]bool{}
				}
				wild[name] = true
			}
		default:
			return nil, nil, p.key.Line, fmt.Errorf("requirement for %q must be a string or a {pattern, wildcard} map, not %s", name, kindName(v))
		}
	}
	return reqs, wild, 0, nil
}

func parseDefaults(n *yaml.Node) (map[string]string, int, error) {
	if n == nil {
		return nil, 0, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, n.Line, fmt.Errorf("\"defaults\" must be a map, not %s", kindName(n))
	}
	defs := map[string]string{}
	for _, p := range mapPairs(n, 0) {
		switch {
		case isNull(p.val):
			// A null default does not make a placeholder optional in
			// PubSubRouter (isset); herald drops it.
		case p.val.Kind == yaml.ScalarNode:
			defs[p.key.Value] = phpString(p.val)
		default:
			return nil, p.key.Line, fmt.Errorf("default for %q must be a scalar, not %s", p.key.Value, kindName(p.val))
		}
	}
	return defs, 0, nil
}

func parseOptions(n *yaml.Node) (map[string]any, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("\"options\" must be a map, not %s", kindName(n))
	}
	var opts map[string]any
	if err := n.Decode(&opts); err != nil {
		return nil, fmt.Errorf("options: %v", err)
	}
	return opts, nil
}

// parseImport handles an entry with "resource": the resource is loaded
// relative to the importing file, minus the exclude globs, and the import's
// defaults, requirements and options override those of every imported
// route (RouteCollection::addDefaults and friends).
func (l *loader) parseImport(file, name string, src Source, fields map[string]*yaml.Node, lines map[string]int) {
	fail := func(line int, format string, args ...any) {
		l.fail(Source{file, line}, name, format, args...)
	}
	if _, ok := fields["pattern"]; ok {
		fail(src.Line, "must not specify both the \"resource\" key and the \"pattern\" key: choose between an import and a route definition")
		return
	}
	if _, ok := fields["channel"]; ok {
		fail(src.Line, "must not specify both the \"resource\" key and the \"channel\" key: choose between an import and a route definition")
		return
	}
	res := fields["resource"]
	if res.Kind != yaml.ScalarNode {
		fail(lines["resource"], "\"resource\" must be a string, not %s", kindName(res))
		return
	}
	typ := ""
	if t, ok := fields["type"]; ok {
		if t.Kind != yaml.ScalarNode {
			fail(lines["type"], "\"type\" must be a string, not %s", kindName(t))
			return
		}
		typ = t.Value
	}
	dir := filepath.Dir(file)
	var ex excluder
	if e, ok := fields["exclude"]; ok {
		var pats []string
		switch e.Kind {
		case yaml.ScalarNode:
			pats = []string{e.Value}
		case yaml.SequenceNode:
			for _, c := range e.Content {
				if c = resolve(c); c.Kind != yaml.ScalarNode {
					fail(lines["exclude"], "\"exclude\" must be a glob or a list of globs")
					return
				}
				pats = append(pats, c.Value)
			}
		default:
			fail(lines["exclude"], "\"exclude\" must be a glob or a list of globs, not %s", kindName(e))
			return
		}
		ex = excluder{}
		for _, p := range pats {
			abs := resolvePath(p, dir)
			if !hasGlobMeta(p) {
				ex[abs] = true
				continue
			}
			matches, err := globFiles(abs, true)
			if err != nil {
				fail(lines["exclude"], "exclude %q: %v", p, err)
				return
			}
			for _, m := range matches {
				ex[m] = true
			}
		}
	}
	reqs, wild, line, err := parseRequirements(fields["requirements"])
	if err != nil {
		fail(line, "%v", err)
		return
	}
	defs, line, err := parseDefaults(fields["defaults"])
	if err != nil {
		fail(line, "%v", err)
		return
	}
	opts, err := parseOptions(fields["options"])
	if err != nil {
		fail(lines["options"], "%v", err)
		return
	}
	start := len(l.routes)
	l.load(res.Value, typ, dir, Source{file, lines["resource"]}, ex)
	for _, r := range l.routes[start:] {
		if len(defs) > 0 {
			r.Defaults = overlay(r.Defaults, defs)
		}
		if len(reqs) > 0 {
			r.Requirements = overlay(r.Requirements, reqs)
			for k := range reqs {
				if wild[k] {
					r.Wildcards = overlay(r.Wildcards, map[string]bool{k: true})
				} else if r.Wildcards[k] {
					r.Wildcards = maps.Clone(r.Wildcards)
					delete(r.Wildcards, k)
				}
			}
		}
		if len(opts) > 0 {
			r.Options = overlay(r.Options, opts)
		}
	}
}

func overlay[V any](base, top map[string]V) map[string]V {
	m := make(map[string]V, len(base)+len(top))
	maps.Copy(m, base)
	maps.Copy(m, top)
	return m
}

// expandBraces expands {a,b} alternatives (nested allowed), as glob's
// GLOB_BRACE does.
func expandBraces(p string) ([]string, error) {
	out := []string{p}
	for i := 0; i < len(out); {
		s := out[i]
		open, close, commas := -1, -1, []int(nil)
		depth := 0
	scan:
		for j := 0; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '{':
				if depth == 0 {
					open, commas = j, nil
				}
				depth++
			case ',':
				if depth == 1 {
					commas = append(commas, j)
				}
			case '}':
				if depth == 0 {
					continue
				}
				depth--
				if depth == 0 {
					if len(commas) > 0 {
						close = j
						break scan
					}
					open = -1
				}
			}
		}
		if close < 0 {
			i++
			continue
		}
		var alts []string
		from := open + 1
		for _, c := range append(commas, close) {
			alts = append(alts, s[:open]+s[from:c]+s[close+1:])
			from = c + 1
		}
		out = slices.Replace(out, i, i+1, alts...)
		if len(out) > maxBraceExpansions {
			return nil, fmt.Errorf("glob expands to more than %d patterns", maxBraceExpansions)
		}
	}
	return out, nil
}

// globFiles returns the regular files (and directories too when dirsToo)
// that pattern matches, sorted. Besides filepath.Match syntax ("[!x]" is
// read as "[^x]"), it supports {a,b} and "**" for any number of
// directories ("**" last means every file below). Hidden entries match
// only a segment that starts with a dot.
func globFiles(pattern string, dirsToo bool) ([]string, error) {
	pats, err := expandBraces(pattern)
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	for _, p := range pats {
		p = filepath.Clean(p)
		segs := strings.Split(filepath.ToSlash(p), "/")
		root := string(filepath.Separator)
		i := 0
		if !filepath.IsAbs(p) {
			root = "."
		} else {
			i = 1 // the empty segment before the leading '/'
		}
		for ; i < len(segs)-1 && !hasGlobMeta(segs[i]); i++ {
			root = filepath.Join(root, segs[i])
		}
		for j := i; j < len(segs); j++ {
			segs[j] = strings.ReplaceAll(segs[j], "[!", "[^")
			if _, err := filepath.Match(segs[j], ""); err != nil {
				return nil, fmt.Errorf("bad glob %q: %v", pattern, err)
			}
		}
		globWalk(root, segs[i:], dirsToo, found, map[string]bool{}, 0)
	}
	return slices.Sorted(maps.Keys(found)), nil
}

func globWalk(dir string, segs []string, dirsToo bool, found, seen map[string]bool, depth int) {
	if len(segs) == 0 || depth > maxWalkDepth {
		return
	}
	seg, rest := segs[0], segs[1:]
	if seg == "**" {
		if len(rest) == 0 {
			rest = []string{"*"}
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil || seen[real] {
			return
		}
		seen[real] = true
		defer delete(seen, real)
		globWalk(dir, rest, dirsToo, found, seen, depth+1)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				globWalk(p, segs, dirsToo, found, seen, depth+1)
			}
		}
		return
	}
	add := func(p string) {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
		case len(rest) == 0:
			if fi.Mode().IsRegular() || dirsToo && fi.IsDir() {
				found[p] = true
			}
		case fi.IsDir():
			globWalk(p, rest, dirsToo, found, seen, depth+1)
		}
	}
	if !hasGlobMeta(seg) {
		add(filepath.Join(dir, seg))
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") && !strings.HasPrefix(seg, ".") {
			continue
		}
		if ok, _ := filepath.Match(seg, name); ok {
			add(filepath.Join(dir, name))
		}
	}
}
