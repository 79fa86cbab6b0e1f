package sample

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/atomicfile"
)

// Boost raises sampling for a tenant, route, model or prompt version until
// a given time. Every non-empty selector must match the trace (any span's
// value); at least one is set.
type Boost struct {
	ID            string `json:"id"`
	Project       string `json:"project"`
	Tenant        string `json:"tenant,omitempty"`
	Route         string `json:"route,omitempty"`
	Model         string `json:"model,omitempty"`
	PromptVersion string `json:"prompt_version,omitempty"`
	// Rate is the share of matching traces kept in full, in (0, 1].
	Rate    float64   `json:"rate"`
	Until   time.Time `json:"until"`
	Created time.Time `json:"created"`
}

// validate checks a new boost at time now.
func (b *Boost) validate(now time.Time) error {
	switch {
	case b.Tenant == "" && b.Route == "" && b.Model == "" && b.PromptVersion == "":
		return fmt.Errorf("%w: boost needs tenant, route, model or prompt_version", loupe.ErrInvalid)
	case !(b.Rate > 0 && b.Rate <= 1) || math.IsNaN(b.Rate):
		return fmt.Errorf("%w: rate %v: want a share in (0, 1], as 1.0", loupe.ErrInvalid, b.Rate)
	case b.Until.IsZero():
		return fmt.Errorf("%w: until is missing: give an RFC 3339 time, as 2026-11-25T18:00:00Z", loupe.ErrInvalid)
	case !b.Until.After(now):
		return fmt.Errorf("%w: until %s is in the past", loupe.ErrInvalid, b.Until.UTC().Format(time.RFC3339))
	}
	return nil
}

// matches reports whether the boost covers the trace.
func (b *Boost) matches(sum *Summary) bool {
	return b.Project == sum.Project &&
		(b.Tenant == "" || slices.Contains(sum.Tenants, b.Tenant)) &&
		(b.Route == "" || slices.Contains(sum.Routes, b.Route)) &&
		(b.Model == "" || slices.Contains(sum.Models, b.Model)) &&
		(b.PromptVersion == "" || slices.Contains(sum.PromptVersions, b.PromptVersion))
}

// maxBoosts bounds the active boosts (each is checked for every trace).
const maxBoosts = 1000

// boosts is the set of boosts, persisted in a JSON file rewritten (and
// fsync'd) on every change so they survive restarts.
type boosts struct {
	file string // "" keeps them in memory only
	now  func() time.Time

	mu   sync.Mutex
	list []Boost // active and possibly expired; pruned on change
}

func openBoosts(file string, now func() time.Time) (*boosts, error) {
	bs := &boosts{file: file, now: now}
	if file == "" {
		return bs, nil
	}
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return bs, nil
	case err != nil:
		return nil, fmt.Errorf("read boosts: %w", err)
	}
	if err := json.Unmarshal(data, &bs.list); err != nil {
		return nil, fmt.Errorf("read boosts %s: %w", file, err)
	}
	return bs, nil
}

// add validates b, gives it an id and stores it.
func (bs *boosts) add(b Boost) (Boost, error) {
	now := bs.now()
	if err := b.validate(now); err != nil {
		return Boost{}, err
	}
	var id [6]byte
	rand.Read(id[:])
	b.ID = "bst_" + hex.EncodeToString(id[:])
	b.Created = now.UTC()
	b.Until = b.Until.UTC()
	bs.mu.Lock()
	defer bs.mu.Unlock()
	list := bs.activeLocked(now)
	if len(list) >= maxBoosts {
		return Boost{}, fmt.Errorf("%w: %d boosts are active; revoke some first", loupe.ErrInvalid, len(list))
	}
	list = append(list, b)
	if err := bs.saveLocked(list); err != nil {
		return Boost{}, err
	}
	bs.list = list
	return b, nil
}

// revoke removes the boost id of project; ErrNotFound when there is none.
func (bs *boosts) revoke(project, id string) error {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	list := bs.activeLocked(bs.now())
	i := slices.IndexFunc(list, func(b Boost) bool { return b.ID == id && b.Project == project })
	if i < 0 {
		return fmt.Errorf("boost %q: %w", id, loupe.ErrNotFound)
	}
	list = slices.Delete(list, i, i+1)
	if err := bs.saveLocked(list); err != nil {
		return err
	}
	bs.list = list
	return nil
}

// active returns the unexpired boosts of project ("" for all projects).
func (bs *boosts) active(project string) []Boost {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	var out []Boost
	for _, b := range bs.activeLocked(bs.now()) {
		if project == "" || b.Project == project {
			out = append(out, b)
		}
	}
	return out
}

// activeLocked returns a new slice of the boosts unexpired at now.
func (bs *boosts) activeLocked(now time.Time) []Boost {
	out := make([]Boost, 0, len(bs.list)+1)
	for _, b := range bs.list {
		if b.Until.After(now) {
			out = append(out, b)
		}
	}
	return out
}

// rate returns the highest rate of the boosts active at now that cover sum.
func (bs *boosts) rate(sum *Summary, now time.Time) (float64, string, bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	best, id := 0.0, ""
	for i := range bs.list {
		b := &bs.list[i]
		if b.Until.After(now) && b.Rate > best && b.matches(sum) {
			best, id = b.Rate, b.ID
		}
	}
	return best, id, id != ""
}

// saveLocked writes list to the file atomically (temp file, fsync, rename,
// fsync of the directory).
func (bs *boosts) saveLocked(list []Boost) error {
	if bs.file == "" {
		return nil
	}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("encode boosts: %w", err)
	}
	return atomicfile.Write(bs.file, data, 0o644)
}
