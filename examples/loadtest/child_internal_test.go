package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// closingBuffer is a log file in memory.
type closingBuffer struct {
	bytes.Buffer
	closed bool
}

func (b *closingBuffer) Close() error { b.closed = true; return nil }

// output: the log gets every byte however the writes split the lines; the
// ring and match get whole lines, the last even without its newline, a
// line too long cut at maxLine, and only the last tailLines kept.
func TestOutput(t *testing.T) {
	t.Parallel()
	log := &closingBuffer{}
	var matched []string
	o := &output{log: log, match: func(line string) { matched = append(matched, line) }}
	long := strings.Repeat("x", maxLine+10)
	var all strings.Builder
	for _, w := range []string{"msg=serv", "ing addr=http://127.0.0.1:1\nsecond", " line\n\nfourth\n", long + "\n"} {
		all.WriteString(w)
		if n, err := o.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	for i := range tailLines {
		fmt.Fprintf(&all, "line %d\n", i)
		fmt.Fprintf(o, "line %d\n", i)
	}
	all.WriteString("unended")
	o.Write([]byte("unended"))
	o.finish()

	if log.String() != all.String() || !log.closed {
		t.Errorf("the log holds %d bytes (closed %v), want all %d, closed", log.Len(), log.closed, all.Len())
	}
	want := []string{"msg=serving addr=http://127.0.0.1:1", "second line", "", "fourth", long[:maxLine]}
	for i := range tailLines {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	want = append(want, "unended")
	if strings.Join(matched, "\n") != strings.Join(want, "\n") {
		t.Errorf("match saw %d lines, want %d: %.200q", len(matched), len(want), matched)
	}
	if got, want := o.tail(), strings.Join(want[len(want)-tailLines:], "\n"); got != want {
		t.Errorf("tail = %.200q, want the last %d lines", got, tailLines)
	}
	if err := o.logFailure(); err != nil {
		t.Errorf("logFailure = %v on a log written in full", err)
	}
}

// failingLog fails every write.
type failingLog struct{}

func (failingLog) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }
func (failingLog) Close() error              { return nil }

// A log that cannot be written is reported, and the child's output still
// flows: Write never fails, or the child would block on its pipe.
func TestOutputLogFailure(t *testing.T) {
	t.Parallel()
	o := &output{log: failingLog{}}
	if n, err := o.Write([]byte("a line\n")); n != 7 || err != nil {
		t.Fatalf("Write = %d, %v; want the whole line taken", n, err)
	}
	o.finish()
	if o.logFailure() == nil || o.tail() != "a line" {
		t.Errorf("logFailure = %v, tail %q; want the failure reported and the line kept", o.logFailure(), o.tail())
	}
}

// The key of a successful login's answer joins the secrets; other answers
// add nothing.
func TestRecordAPIKey(t *testing.T) {
	const key = "Zq8bN3vX0kLmW5tYc7RdJ2hG9pFsA4eU"
	before := len(secrets.all()[secretAPIKey])
	recordAPIKey(answer{status: 401, body: []byte(`{"result":"error","msg":"x","api_key":"ShouldNotBeRecordedAtAll0123456"}`)})
	recordAPIKey(answer{status: 200, body: []byte(`{"result":"success","msg":""}`)})
	if got := len(secrets.all()[secretAPIKey]); got != before {
		t.Fatalf("answers without a login's key added %d keys", got-before)
	}
	recordAPIKey(answer{status: 200, body: []byte(`{"result":"success","msg":"","api_key":"` + key + `","email":"a@zulip.test","user_id":7}`)})
	recordAPIKey(answer{status: 200, body: []byte(`{"result":"success","msg":"","api_key":"` + key + `","email":"a@zulip.test","user_id":7}`)})
	keys := secrets.all()[secretAPIKey]
	if len(keys) != before+1 || !strings.Contains(strings.Join(keys, " "), key) {
		t.Errorf("after two answers with one key: %d keys (want %d), the key recorded: %v", len(keys), before+1, strings.Contains(strings.Join(keys, " "), key))
	}
}
