package auth

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/heraldws/herald/internal/testpeer"
)

// symfonyAutoload is where Debian's php-symfony-password-hasher puts its
// autoloader (dpkg -L php-symfony-password-hasher).
const symfonyAutoload = "/usr/share/php/Symfony/Component/PasswordHasher/autoload.php"

// needPHP returns the php binary, or fails the test naming the install
// command of php-cli or php-symfony-password-hasher.
func needPHP(t testing.TB) string {
	t.Helper()
	php := testpeer.Require(t, testpeer.PHP)
	testpeer.Require(t, testpeer.SymfonyPasswordHasher)
	return php
}

// runPHP runs testdata/oro.php in mode with in as JSON on stdin and decodes
// its JSON output into out.
func runPHP(t testing.TB, mode string, in, out any) {
	t.Helper()
	php := needPHP(t)
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("encode php input: %v", err)
	}
	cmd := exec.Command(php, "-d", "display_errors=stderr", "-d", "error_reporting=E_ALL & ~E_WARNING",
		filepath.Join("testdata", "oro.php"), symfonyAutoload, mode)
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("php oro.php %s: %v\nstderr: %s", mode, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("decode php %s output %q: %v (stderr: %s)", mode, stdout.String(), err, stderr.String())
	}
}
