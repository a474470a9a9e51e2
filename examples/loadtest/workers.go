package main

import (
	"github.com/alexedwards/argon2id"
)

// httpWorker is a worker sending requests over its own keep-alive
// connection: build appends request seq to a buffer, expect says whether an
// answer is the one the scenario is about.
type httpWorker struct {
	conn   *httpConn
	buf    []byte
	build  func(buf []byte, seq uint64) []byte
	expect func(a answer) bool
}

// do sends request seq and classifies its answer.
func (w *httpWorker) do(seq uint64) outcome {
	w.buf = w.build(w.buf[:0], seq)
	a, err := w.conn.roundTrip(w.buf)
	return classify(a, err, w.expect)
}

// classify is how a request ended, as the checks see it.
func classify(a answer, err error, expect func(answer) bool) outcome {
	o := outcome{status: a.status, busy: a.busy(), err: err}
	switch {
	case err != nil:
		o.class = classTransport
	case a.status >= 500:
		o.class = classServerError
	case !a.json:
		o.class = classNotJSON
	case expect(a):
		o.class = classExpected
	default:
		o.class = classOther
	}
	return o
}

// httpWorkers are n httpWorkers to host, each with its own connection.
func httpWorkers(n int, host string, build func([]byte, uint64) []byte, expect func(answer) bool) []worker {
	ws := make([]worker, n)
	for i := range ws {
		ws[i] = &httpWorker{conn: newHTTPConn(host), buf: make([]byte, 0, 1024), build: build, expect: expect}
	}
	return ws
}

// closeWorkers closes the connections of httpWorkers.
func closeWorkers(ws []worker) {
	for _, w := range ws {
		if hw, ok := w.(*httpWorker); ok {
			hw.conn.close()
		}
	}
}

// argon2Worker is the physical limit of a password login: one
// ComparePasswordAndHash of the users' password with the users' hash
// (password.DefaultParams), in this process, nothing else.
type argon2Worker struct{ hash string }

// do verifies the users' password against their hash once.
func (w argon2Worker) do(uint64) outcome {
	ok, err := argon2id.ComparePasswordAndHash(userPassword, w.hash)
	if err != nil || !ok {
		return outcome{class: classOther, err: err}
	}
	return outcome{class: classExpected}
}

// argon2Workers are n argon2Workers: the server's hash concurrency is its
// GOMAXPROCS, which is this process's on the same machine.
func argon2Workers(n int, hash string) []worker {
	ws := make([]worker, n)
	for i := range ws {
		ws[i] = argon2Worker{hash: hash}
	}
	return ws
}

// status is an expect func for one status code.
func status(code int) func(answer) bool {
	return func(a answer) bool { return a.status == code }
}
