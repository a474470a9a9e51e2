package sqlstore

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestLookupsUseIndexes pins the schema's promise that each lookup is one
// query answered by index probes: a full scan of users on every login or
// API request would grow with the number of accounts.
func TestLookupsUseIndexes(t *testing.T) {
	// Every lookup the package registers, so a new one is checked too.
	queries := map[string]string{}
	for _, q := range registry {
		switch {
		case q.write, q == qCountUsers: // counting every user scans them, by design
		case q == qLastChange, q == qOldestChange: // LIMIT 1 reads one end of the primary key
		default:
			queries[q.name] = q.sql
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		s, err := Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "plan.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for name, q := range queries {
			args := make([]any, strings.Count(q, "?"))
			for i := range args {
				args[i] = "x"
			}
			rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			rows.Close()
			if len(plan) == 0 {
				t.Fatalf("%s: empty plan", name)
			}
			for _, step := range plan {
				if !strings.HasPrefix(step, "SEARCH ") {
					t.Errorf("%s: plan step %q is not an index search; plan: %q", name, step, plan)
				}
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := Open(t.Context(), "postgres", freshSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		conn, err := s.read.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The tables are empty, so a sequential scan would be cheapest;
		// forbid it, and a plan that still has one found no index.
		if _, err := conn.ExecContext(t.Context(), "SET enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(context.Background(), "RESET enable_seqscan")
		for name, q := range queries {
			q = Postgres.rebind(q)
			args := make([]any, strings.Count(q, "$"))
			for i := range args {
				args[i] = "1"
			}
			var plan string
			if err := conn.QueryRowContext(t.Context(), "EXPLAIN (FORMAT JSON) "+q, args...).Scan(&plan); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var root []struct{ Plan pgPlan }
			if err := json.Unmarshal([]byte(plan), &root); err != nil || len(root) != 1 {
				t.Fatalf("%s: plan %s: %v", name, plan, err)
			}
			if bad := root[0].Plan.unindexed(); len(bad) > 0 {
				t.Errorf("%s: %s not read through an index condition; plan:\n%s", name, strings.Join(bad, ", "), plan)
			}
		}
	})
}

// pgPlan is a node of PostgreSQL's EXPLAIN (FORMAT JSON).
type pgPlan struct {
	NodeType    string   `json:"Node Type"`
	Relation    string   `json:"Relation Name"`
	IndexCond   string   `json:"Index Cond"`
	RecheckCond string   `json:"Recheck Cond"`
	Plans       []pgPlan `json:"Plans"`
}

// unindexed lists the tables that the plan reads other than by an index
// condition (a sequential scan, or a full index scan, which enable_seqscan =
// off makes the planner prefer).
func (p pgPlan) unindexed() []string {
	var bad []string
	if p.Relation != "" {
		switch {
		case (p.NodeType == "Index Scan" || p.NodeType == "Index Only Scan") && p.IndexCond != "":
		case p.NodeType == "Bitmap Heap Scan" && p.RecheckCond != "":
		default:
			bad = append(bad, p.Relation+" ("+p.NodeType+")")
		}
	}
	for _, c := range p.Plans {
		bad = append(bad, c.unindexed()...)
	}
	return bad
}

// The select lists and the scan targets come from one list of columns, and
// every registered statement is prepared and closed by every Store: pin both,
// so a statement or a column added in one place is added everywhere.
func TestStatementsAreDefinedOnce(t *testing.T) {
	s, err := Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "stmts.db"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.stmts) != len(registry) {
		t.Fatalf("%d statements prepared, %d registered", len(s.stmts), len(registry))
	}
	for _, q := range registry {
		if prepared := s.stmt(q) != nil; prepared == q.inTx {
			t.Errorf("%s prepared: %v, want %v (it runs in a transaction: %v)", q.name, prepared, !q.inTx, q.inTx)
		}
	}
	if got, want := strings.Count(selectUser, ","), len(userColumns)-1; got != want {
		t.Errorf("selectUser has %d commas, want %d: %s", got, want, selectUser)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByEmail(t.Context(), "", "a@b.co"); err == nil {
		t.Error("a lookup after Close succeeded: the statements were not closed")
	}
}
