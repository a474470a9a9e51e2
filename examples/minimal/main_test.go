package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The curl command the example prints must work against it as printed.
func TestPrintedCurlWorks(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed")
		}
		t.Skip("curl is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pr, pw := io.Pipe()
	go serve(ln, pw) //nolint:errcheck // ends when the listener closes
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	out, err := exec.Command("sh", "-c", line).Output()
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("not JSON: %s", out)
	}
	key, _ := m["api_key"].(string)
	if m["result"] != "success" || m["email"] != "iago@zulip.com" || len(key) != 32 {
		t.Fatalf("unexpected answer: %s", out)
	}
	// The key opens the protected route; a made-up one does not.
	base := strings.Fields(line)[3]
	base = base[:strings.Index(base, "/api/")]
	for _, tc := range []struct {
		key  string
		want int
	}{{key, 200}, {strings.Repeat("x", 32), 401}} {
		req, _ := http.NewRequest("GET", base+"/api/v1/users/me", nil)
		req.SetBasicAuth("iago@zulip.com", tc.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("users/me with key %.4s…: %d, want %d", tc.key, resp.StatusCode, tc.want)
		}
	}
}
