// Package testpeer ends a test that needs a program or a local service the
// machine lacks, and names the command that provides it. A test never skips
// for a missing peer: `bash scripts/test` starts the services and installs
// the peers (scripts/peers), so a missing one is a setup to fix, not a
// reason to pass.
//
//	php := testpeer.Require(t, testpeer.PHP)   // the php binary, or t fails
//	testpeer.RequireService(t, testpeer.Redis) // 127.0.0.1:6379 answers, or t fails
//
// The failure reads, for instance:
//
//	php-cli not found (exec: "php": executable file not found in $PATH):
//	run `bash scripts/test` (it installs the peers) or `apt-get install php-cli`
package testpeer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Peer is a program, or a part of one, that tests run against herald.
type Peer struct {
	// Name is what a failure calls missing: a Debian or npm package.
	Name string
	// Install is the command that installs it.
	Install string
	// ByScript tells whether scripts/peers installs it; the packages of
	// the machine's services (redis-server, ...) it does not.
	ByScript bool
	// find returns the path a test uses (a binary or a file), or why the
	// peer is missing.
	find func() (string, error)
}

// The peers. Require returns the path of the program to run (php, python3,
// node, ...) or, for SymfonyPasswordHasher, of its autoloader.
var (
	PHP                   = Peer{"php-cli", "apt-get install php-cli", true, lookPath("php")}
	PHPAMQP               = Peer{"php-amqp", "apt-get install php-cli php-amqp", true, phpWith("amqp")}
	PHPZMQ                = Peer{"php-zmq", "apt-get install php-cli php-zmq", true, phpWith("zmq")}
	SymfonyPasswordHasher = Peer{"php-symfony-password-hasher", "apt-get install php-symfony-password-hasher", true,
		file("/usr/share/php/Symfony/Component/PasswordHasher/autoload.php")}
	PythonZMQ = Peer{"python3-zmq", "apt-get install python3-zmq", true, sync.OnceValues(pythonWithZMQ)}
	NodeWAMP1 = Peer{"npm wamp1 (interop/node)", "npm ci --prefix interop/node", true, nodeWith("node", nodeModules)}
	// AutobahnJS is npm autobahn (WAMP v2) with ws, msgpack5 and cbor in
	// interop/autobahn; Require returns node.
	AutobahnJS = Peer{"npm autobahn (interop/autobahn)", "npm ci --prefix interop/autobahn", true,
		nodeWith("autobahn", autobahnModules)}
	// AutobahnPython is Debian's python3-autobahn (WAMP v2, asyncio) with
	// the msgpack and cbor2 serializers; Require returns the python3 that
	// imports them.
	AutobahnPython = Peer{"python3-autobahn", "apt-get install python3-autobahn python3-msgpack python3-cbor2", true,
		sync.OnceValues(pythonWithAutobahn)}
	Nginx   = Peer{"nginx", "apt-get install nginx", true, file("/usr/sbin/nginx")}
	HAProxy = Peer{"haproxy", "apt-get install haproxy", true, file("/usr/sbin/haproxy")}

	RedisServer = Peer{"redis-server", "apt-get install redis-server", false, lookPath("redis-server")}
	NATSServer  = Peer{"nats-server", "apt-get install nats-server", false, lookPath("nats-server")}
	RabbitMQCtl = Peer{"rabbitmqctl", "apt-get install rabbitmq-server", false, lookPath("rabbitmqctl")}
)

// Peers lists every Peer above.
var Peers = []Peer{PHP, PHPAMQP, PHPZMQ, SymfonyPasswordHasher, PythonZMQ, NodeWAMP1, AutobahnJS, AutobahnPython, Nginx, HAProxy,
	RedisServer, NATSServer, RabbitMQCtl}

// Require returns p's path, or fails tb naming the command that installs p.
func Require(tb testing.TB, p Peer) string {
	tb.Helper()
	path, err := p.find()
	if err != nil {
		tb.Fatalf("%s", p.missing(err))
	}
	return path
}

func (p Peer) missing(err error) string {
	if p.ByScript {
		return fmt.Sprintf("%s not found (%v): run `bash scripts/test` (it installs the peers) or `%s`", p.Name, err, p.Install)
	}
	return fmt.Sprintf("%s not found (%v): install it with `%s`", p.Name, err, p.Install)
}

// A Service is a server of the machine's that tests use on loopback.
type Service struct {
	// Name is the service's name in failures.
	Name string
	// Addr is where it answers.
	Addr string
	// Start is the command that starts it on this machine, the one
	// scripts/test runs.
	Start string
}

// The services scripts/test starts.
var (
	RabbitMQ = Service{"RabbitMQ", "127.0.0.1:5672", "rabbitmq-server -detached"}
	Redis    = Service{"Redis", "127.0.0.1:6379",
		`redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log`}
	NATS = Service{"NATS", "127.0.0.1:4222",
		"start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"}
	PostgreSQL = Service{"PostgreSQL", "127.0.0.1:5432", "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"}
	MariaDB    = Service{"MariaDB", "127.0.0.1:3306", "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"}
)

// Services lists every Service above.
var Services = []Service{RabbitMQ, Redis, NATS, PostgreSQL, MariaDB}

// dialTimeout bounds RequireService's connection attempt.
const dialTimeout = 2 * time.Second

// RequireService fails tb, naming s's start command, when s.Addr does not
// accept a TCP connection.
func RequireService(tb testing.TB, s Service) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, dialTimeout)
	if err != nil {
		ServiceFailed(tb, s, err)
	}
	c.Close()
}

// ServiceFailed fails tb naming s's start command: for a test that probes
// s its own way (a Redis PING, an SQL ping) and got err.
func ServiceFailed(tb testing.TB, s Service, err error) {
	tb.Helper()
	tb.Fatalf("%s is not answering on %s (%v): run `bash scripts/test` (it starts the services) or `%s`",
		s.Name, s.Addr, err, s.Start)
}

func lookPath(name string) func() (string, error) {
	return func() (string, error) { return exec.LookPath(name) }
}

func file(path string) func() (string, error) {
	return func() (string, error) {
		if _, err := os.Stat(path); err != nil {
			return "", err
		}
		return path, nil
	}
}

// phpWith finds a php whose modules include ext.
func phpWith(ext string) func() (string, error) {
	return sync.OnceValues(func() (string, error) {
		php, err := exec.LookPath("php")
		if err != nil {
			return "", err
		}
		out, err := exec.Command(php, "-m").Output()
		if err != nil {
			return "", fmt.Errorf("%s -m: %w", php, err)
		}
		if !slices.Contains(strings.Fields(string(out)), ext) {
			return "", fmt.Errorf("%s -m does not list %s", php, ext)
		}
		return php, nil
	})
}

// pythonWithZMQ finds a python3 that imports zmq: Debian's /usr/bin/python3
// first (python3-zmq installs there; a pyenv python3 on PATH does not see
// it), then the one on PATH.
func pythonWithZMQ() (string, error) {
	return pythonImporting("zmq")
}

// pythonWithAutobahn finds a python3 that imports Autobahn's asyncio flavour
// and the modules of its msgpack and CBOR serializers (autobahn 22.7.1 uses
// cbor2, which Debian's python3-autobahn does not depend on).
func pythonWithAutobahn() (string, error) {
	return pythonImporting("autobahn.asyncio.wamp", "msgpack", "cbor2")
}

// pythonImporting finds a python3 that imports every module: Debian's
// /usr/bin/python3 first, then the one on PATH.
func pythonImporting(modules ...string) (string, error) {
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil && p != candidates[0] {
		candidates = append(candidates, p)
	}
	code := "import " + strings.Join(modules, ", ")
	for _, c := range candidates {
		if exec.Command(c, "-c", code).Run() == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("none of %s runs %q", strings.Join(candidates, ", "), code)
}

// nodeModules are the npm packages interop/node/package-lock.json pins.
var nodeModules = []string{"wamp1", "ws", "websocket-buffering"}

// autobahnModules are the npm packages interop/autobahn/package-lock.json
// pins (and autobahn loads: msgpack5 and cbor for its binary serializers).
var autobahnModules = []string{"autobahn", "ws", "msgpack5", "cbor"}

// nodeWith finds node and checks that interop/DIR has the npm modules.
func nodeWith(dir string, modules []string) func() (string, error) {
	return func() (string, error) {
		node, err := exec.LookPath("node")
		if err != nil {
			return "", fmt.Errorf("%w (apt-get install nodejs npm)", err)
		}
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		for _, mod := range modules {
			if _, err := os.Stat(filepath.Join(root, "interop", dir, "node_modules", mod, "package.json")); err != nil {
				return "", fmt.Errorf("npm module %s missing in interop/%s: %w", mod, dir, err)
			}
		}
		return node, nil
	}
}

// moduleRoot is the directory of herald's go.mod, found from the working
// directory up (go test runs a test in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
