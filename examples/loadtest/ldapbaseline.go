package main

import (
	"fmt"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
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

// ldapWorkers are n ldapWorkers on d, each with its two connections.
func ldapWorkers(d *directory, n, people int) ([]worker, func(), error) {
	var ws []worker
	closeAll := func() {
		for _, w := range ws {
			w.(*ldapWorker).search.Close()
			w.(*ldapWorker).bind.Close()
		}
	}
	for range n {
		search, err := goldap.DialURL(d.url)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		if err := search.Bind(ldapServiceDN, ldapServicePassword); err != nil {
			search.Close()
			closeAll()
			return nil, nil, fmt.Errorf("binding as the service account: %w", err)
		}
		bind, err := goldap.DialURL(d.url)
		if err != nil {
			search.Close()
			closeAll()
			return nil, nil, err
		}
		search.SetTimeout(requestTimeout)
		bind.SetTimeout(requestTimeout)
		ws = append(ws, &ldapWorker{search: search, bind: bind, people: people})
	}
	return ws, closeAll, nil
}

func (w *ldapWorker) do(seq uint64) outcome {
	uid := fmt.Sprintf("ldap%d", seq%uint64(w.people))
	res, err := w.search.Search(&goldap.SearchRequest{
		BaseDN: ldapPeople, Scope: goldap.ScopeWholeSubtree, DerefAliases: goldap.NeverDerefAliases,
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
