package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/loupehq/loupe"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Resources stored once (migrations/0009_resources.sql). The writer keeps
// every stored (project, JSON) → id in memory; a span whose resource is
// known, or new in its write, gets the id, and new ones are appended to the
// resources table in the same transaction. Ids count up from 1 (small
// numbers that DuckDB bit-packs to almost nothing; a hash would take 8
// bytes a span). Once the set is full, spans with new resources keep their
// JSON inline (resource_id NULL), so memory stays bounded.

// maxResources bounds the resources the writer remembers; past it, spans
// with new resources carry their JSON inline.
const maxResources = 100_000

// resourceSQL is the expression of a span's resource JSON (alias s).
const resourceSQL = `coalesce(s.resource, (SELECT r.json FROM resources r WHERE r.project = s.project AND r.id = s.resource_id))`

// resourceSet is the writer's memory of stored resources; guarded by
// Store.mu.
type resourceSet struct {
	known   map[string]map[string]int64 // project → JSON → id, committed
	pending map[string]map[string]int64 // appended by the write in progress
	n       int                         // resources in known and pending
	next    int64                       // the next id
	max     int                         // bound of n
}

// loadResources reads the stored resources into the writer's set.
func (s *Store) loadResources(ctx context.Context, db *sql.DB) error {
	s.res = resourceSet{known: map[string]map[string]int64{}, pending: map[string]map[string]int64{},
		next: 1, max: maxResources}
	rows, err := db.QueryContext(ctx, `SELECT project, id, json FROM resources`)
	if err != nil {
		return fmt.Errorf("load resources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var project, json string
		var id int64
		if err := rows.Scan(&project, &id, &json); err != nil {
			return fmt.Errorf("load resources: %w", err)
		}
		s.res.add(s.res.known, project, json, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load resources: %w", err)
	}
	return nil
}

func (r *resourceSet) add(m map[string]map[string]int64, project, json string, id int64) {
	p := m[project]
	if p == nil {
		p = map[string]int64{}
		m[project] = p
	}
	p[json] = id
	r.n++
	r.next = max(r.next, id+1)
}

// id returns the resource id of json in project for a span row, and false
// when the span must keep json inline or has none (json nil).
func (r *resourceSet) id(project string, json []byte) (int64, bool) {
	if json == nil {
		return 0, false
	}
	if id, ok := r.known[project][string(json)]; ok {
		return id, true
	}
	if id, ok := r.pending[project][string(json)]; ok {
		return id, true
	}
	if r.n >= r.max {
		return 0, false
	}
	id := r.next
	r.add(r.pending, project, string(json), id)
	return id, true
}

// appendPending appends the resources new in this write.
func (r *resourceSet) appendPending(conn driver.Conn) error {
	if len(r.pending) == 0 {
		return nil
	}
	return appendRows(conn, "resources", func(a *duckdb.Appender) error {
		for project, m := range r.pending {
			for json, id := range m {
				if err := a.AppendRow(project, id, json); err != nil {
					return fmt.Errorf("append resource: %w", err)
				}
			}
		}
		return nil
	})
}

// done ends a write: its new resources become known when it committed, and
// are forgotten when it failed (they were never stored; their ids are not
// reused).
func (r *resourceSet) done(committed bool) {
	for project, m := range r.pending {
		if !committed {
			r.n -= len(m)
			continue
		}
		k := r.known[project]
		if k == nil {
			k = map[string]int64{}
			r.known[project] = k
		}
		maps.Copy(k, m)
	}
	clear(r.pending)
}

// spanResource is a span read with a stored resource: spans[span] has
// resource id.
type spanResource struct {
	span int
	id   int64
}

// resourceCache holds the JSON of stored resources for reads. A stored
// resource never changes, so entries never go stale; there are at most as
// many as the writer stores (maxResources per process lifetime, plus those
// of earlier runs).
type resourceCache struct {
	mu sync.RWMutex
	m  map[resourceKey]string
}

type resourceKey struct {
	project string
	id      int64
}

// addStoredResources adds the stored resources of the spans in stored to
// their attributes, from the cache or, for ids not in it, from tx.
func (s *Store) addStoredResources(ctx context.Context, tx *sql.Tx, project string, spans []loupe.Span, stored []spanResource) error {
	if len(stored) == 0 {
		return nil
	}
	c := &s.resCache
	var missing []int64
	c.mu.RLock()
	for _, r := range stored {
		if _, ok := c.m[resourceKey{project, r.id}]; !ok && !slices.Contains(missing, r.id) {
			missing = append(missing, r.id)
		}
	}
	c.mu.RUnlock()
	if len(missing) > 0 {
		rows, err := tx.QueryContext(ctx, `SELECT id, json FROM resources WHERE project = ? AND id IN (SELECT unnest(?::BIGINT[]))`, project, missing)
		if err != nil {
			return fmt.Errorf("query resources: %w", err)
		}
		defer rows.Close()
		c.mu.Lock()
		if c.m == nil {
			c.m = map[resourceKey]string{}
		}
		for rows.Next() {
			var id int64
			var json string
			if err := rows.Scan(&id, &json); err != nil {
				c.mu.Unlock()
				return fmt.Errorf("scan resource: %w", err)
			}
			c.m[resourceKey{project, id}] = json
		}
		c.mu.Unlock()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read resources: %w", err)
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, r := range stored {
		json, ok := c.m[resourceKey{project, r.id}]
		if !ok {
			return fmt.Errorf("span %s: resource %d is not stored", spans[r.span].SpanID, r.id)
		}
		if err := addResource(&spans[r.span], json); err != nil {
			return err
		}
	}
	return nil
}
