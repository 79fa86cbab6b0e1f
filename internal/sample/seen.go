package sample

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/loupehq/loupe/internal/atomicfile"
)

// seenVersions counts the traces kept of each prompt version under a
// first-N rule, persisted so a restart does not treat every version as new.
type seenVersions struct {
	file string

	mu    sync.Mutex
	count map[string]int // project + "\x00" + version -> traces admitted
	dirty bool
}

func openSeen(file string) (*seenVersions, error) {
	sv := &seenVersions{file: file, count: make(map[string]int)}
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sv, nil
	case err != nil:
		return nil, fmt.Errorf("read prompt versions seen: %w", err)
	}
	if err := json.Unmarshal(data, &sv.count); err != nil {
		return nil, fmt.Errorf("read prompt versions seen %s: %w", file, err)
	}
	return sv, nil
}

// admit reports whether one more trace of the version may be kept under a
// first-n rule, and counts it if so.
func (sv *seenVersions) admit(project, version string, n int) bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	k := project + "\x00" + version
	if sv.count[k] >= n {
		return false
	}
	sv.count[k]++
	sv.dirty = true
	return true
}

// save writes the counts when they changed. It runs after the decisions
// that changed them are durable, so a crash can only make a version look
// newer than it is (keeping a few traces too many), never older.
func (sv *seenVersions) save() error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if !sv.dirty {
		return nil
	}
	data, err := json.Marshal(sv.count)
	if err != nil {
		return fmt.Errorf("encode prompt versions seen: %w", err)
	}
	if err := atomicfile.Write(sv.file, data, 0o644); err != nil {
		return err
	}
	sv.dirty = false
	return nil
}
