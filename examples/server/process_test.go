package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// serverBinary is the example built once for the tests that run it as a
// separate process (signals, SIGKILL).
var serverBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zulipauth-server-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBinary = filepath.Join(dir, "server")
	if out, err := exec.Command("go", "build", "-o", serverBinary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the server: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// process is the server running as a child process.
type process struct {
	cmd    *exec.Cmd
	base   string
	stdout *strings.Builder
	stderr *lockedWriter // the server's log
	done   chan error
}

var servingRE = regexp.MustCompile(`addr=http://(\S+)`)

// startServer runs the binary with args and waits until it serves.
func startServer(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(serverBinary, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	p := &process{cmd: cmd, stdout: &strings.Builder{}, stderr: &lockedWriter{w: &strings.Builder{}}, done: make(chan error, 1)}
	cmd.Stdout = &lockedWriter{w: p.stdout}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(p.stderr, sc.Text())
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case a := <-addr:
		p.base = "http://" + a
	case err := <-p.done:
		t.Fatalf("server exited: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	return p
}

func TestServeFirstStartAndGracefulShutdown(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	p := startServer(t, "-db", db)
	resp, err := http.Get(p.base + "/api/v1/server_settings")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("server_settings: %d", resp.StatusCode)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if out := p.stdout.String(); !strings.Contains(out, "No users yet") || !strings.Contains(out, "create-user -email") {
		t.Errorf("first start does not say how to create a user: %q", out)
	}
	// With a user, the hint is gone.
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")
	p = startServer(t, "-db", db)
	p.cmd.Process.Signal(syscall.SIGINT)
	<-p.done
	if strings.Contains(p.stdout.String(), "No users yet") {
		t.Error("hint printed with a user in the database")
	}
}

// Pins durability: the server is SIGKILLed during a burst of logins that
// upgrade outdated hashes. Every login answered 200 had its upgrade
// committed (the handler writes the answer after the store's commit), so
// each such user must have the new hash, and the database must be intact.
func TestKillDuringHashUpgrades(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	const users = 60
	old := password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	st, err := sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < users; i++ {
		h, _ := argon2id.CreateHash(fmt.Sprintf("password number %d", i), &old)
		if _, err := st.CreateUser(context.Background(), zulipauth.NewUser{Email: fmt.Sprintf("u%d@zulip.com", i), PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	p := startServer(t, "-db", db)
	var mu sync.Mutex
	upgraded := map[int]bool{}
	var oks atomic.Int64
	next := make(chan int, users)
	for i := 0; i < users; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				code, _ := loginNoFail(p.base, fmt.Sprintf("u%d@zulip.com", i), fmt.Sprintf("password number %d", i))
				if code == 200 {
					mu.Lock()
					upgraded[i] = true
					mu.Unlock()
					if oks.Add(1) == users/2 {
						p.cmd.Process.Kill() // SIGKILL mid-burst
					}
				}
			}
		}()
	}
	wg.Wait()
	<-p.done
	if len(upgraded) < users/2 || len(upgraded) == users {
		t.Fatalf("%d of %d logins succeeded; the kill did not land mid-burst", len(upgraded), users)
	}

	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	raw.Close()
	st, err = sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatalf("reopening after SIGKILL: %v", err)
	}
	defer st.Close()
	current := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", password.DefaultParams().Memory, password.DefaultParams().Iterations, password.DefaultParams().Parallelism)
	for i := range upgraded {
		u, err := st.UserByEmail(context.Background(), "", fmt.Sprintf("u%d@zulip.com", i))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, current) {
			t.Errorf("user %d logged in (200) but the upgraded hash is lost: %.40s", i, u.PasswordHash)
		}
	}
}

// loginNoFail is login for goroutines: errors are a status of 0.
func loginNoFail(base, username, pw string) (int, error) {
	resp, err := http.Post(base+"/api/v1/fetch_api_key", "application/x-www-form-urlencoded",
		strings.NewReader("username="+username+"&password="+strings.ReplaceAll(pw, " ", "+")))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
