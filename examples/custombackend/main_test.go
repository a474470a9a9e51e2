package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// -h prints what the program does and its flags with their defaults, and
// is not an error (main exits 0); a stray argument is one.
func TestUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want error
		out  []string
	}{
		{"-h", []string{"-h"}, flag.ErrHelp, []string{"Usage: custombackend", "-addr string", `(default "127.0.0.1:9993")`, "-db string"}},
		{"-help", []string{"-help"}, flag.ErrHelp, []string{"Usage: custombackend"}},
		{"unknown flag", []string{"-colour"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := run(t.Context(), tc.args, &out, io.Discard)
			if tc.want != nil && !errors.Is(err, tc.want) || tc.want == nil && (err == nil || !strings.Contains(err.Error(), tc.args[0])) {
				t.Fatalf("run(%q) = %v, want %v", tc.args, err, tc.want)
			}
			for _, w := range tc.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	err := run(t.Context(), []string{"-db", filepath.Join(t.TempDir(), "x.db"), "extra"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"extra"`) {
		t.Errorf("a stray argument: %v", err)
	}
}

// The program as run: on an empty file it creates the application's table
// and the demo account, prints a curl command, and the login it prints
// works (with the demo's bcrypt digest); it stops when its context ends.
func TestRunServesTheDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "demo.db")}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no curl line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[3], "http://127.0.0.1:") {
		t.Fatalf("unexpected line %q", line)
	}
	base := strings.TrimSuffix(fields[3], "/api/v1/fetch_api_key")
	code, m := post(t, base, demoEmail, demoPassword)
	if code != 200 || m["email"] != demoEmail {
		t.Fatalf("the printed login: %d %v", code, m)
	}
	if code, _ := getMe(t, base, demoEmail, m["api_key"].(string)); code != 200 {
		t.Errorf("users/me with the demo's key: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after its context ended: %v", err)
	}
}
