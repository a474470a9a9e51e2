package main

import (
	"fmt"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// ldapWorker is the physical limit of an LDAP login: what backends/ldap asks
// the directory per login (a search for the uid as the service account,
// then a bind as the entry found, each on a connection of its own pool),
// sent straight from this process, with no HTTP, store or zulipauth around
// it.
type ldapWorker struct {
	search, bind *goldap.Conn
	people       int
}

// ldapWorkers are n ldapWorkers on d, each with its two connections, for
// the directory's first people.
func ldapWorkers(d *slapdtest.Directory, n, people int) ([]worker, func(), error) {
	var ws []worker
	closeAll := func() {
		for _, w := range ws {
			w.(*ldapWorker).search.Close()
			w.(*ldapWorker).bind.Close()
		}
	}
	for range n {
		search, err := goldap.DialURL(d.URL)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		search.SetTimeout(requestTimeout)
		if err := search.Bind(d.ServiceDN, d.ServicePassword); err != nil {
			search.Close()
			closeAll()
			return nil, nil, fmt.Errorf("binding as the service account: %w", err)
		}
		bind, err := goldap.DialURL(d.URL)
		if err != nil {
			search.Close()
			closeAll()
			return nil, nil, err
		}
		bind.SetTimeout(requestTimeout)
		ws = append(ws, &ldapWorker{search: search, bind: bind, people: people})
	}
	return ws, closeAll, nil
}

// do searches for the seq-th person as the service account and binds as
// the entry found.
func (w *ldapWorker) do(seq uint64) outcome {
	uid := ldapUID(int(seq % uint64(w.people)))
	res, err := w.search.Search(&goldap.SearchRequest{
		BaseDN: slapdtest.People, Scope: goldap.ScopeWholeSubtree, DerefAliases: goldap.NeverDerefAliases,
		SizeLimit: 2, TimeLimit: int(requestTimeout / time.Second),
		Filter: "(uid=" + goldap.EscapeFilter(uid) + ")", Attributes: []string{"1.1"},
	})
	if err != nil {
		return outcome{class: classTransport, err: err}
	}
	if len(res.Entries) != 1 {
		return outcome{class: classOther, err: fmt.Errorf("%d entries for uid %s", len(res.Entries), uid)}
	}
	if err := w.bind.Bind(res.Entries[0].DN, userPassword); err != nil {
		return outcome{class: classOther, err: err}
	}
	return outcome{class: classExpected}
}
