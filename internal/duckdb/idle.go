package duckdb

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/loupehq/loupe"
)

// Idle checkpoints. DuckDB folds its WAL into the database file in the
// commit that takes the WAL past checkpoint_threshold (configure), which is
// large so that checkpoints, which block every commit, are rare under load.
// When writes pause for IdleCheckpoint, the rows still in the WAL are
// checkpointed explicitly, so that a store at rest holds them compressed
// (the WAL holds them raw, several times larger) and reopens without
// replaying them.

// DefaultIdleCheckpoint is the pause in writes after which the WAL is
// checkpointed.
const DefaultIdleCheckpoint = 2 * time.Second

// idleCheckpointMinWAL is the least WAL worth a checkpoint.
const idleCheckpointMinWAL = 1 << 20

// idleCheckpointer is the Store's idle checkpoint state.
type idleCheckpointer struct {
	wrote chan struct{} // buffered (1): a write committed
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

// startIdleCheckpoints starts the goroutine that checkpoints once writes
// have paused for after (0: DefaultIdleCheckpoint; negative: none).
func (s *Store) startIdleCheckpoints(after time.Duration) {
	ic := &s.idle
	ic.wrote = make(chan struct{}, 1)
	if after < 0 {
		return
	}
	if after == 0 {
		after = DefaultIdleCheckpoint
	}
	ctx, cancel := context.WithCancel(context.Background())
	ic.stop = cancel
	ic.wg.Go(func() {
		timer := time.NewTimer(after)
		timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ic.wrote:
				timer.Reset(after)
			case <-timer.C:
				if fileSize(s.path+".wal") < idleCheckpointMinWAL {
					continue
				}
				err := s.withWriteLock(func() error { return s.checkpoint(ctx) })
				if err != nil && !errors.Is(err, loupe.ErrClosed) && ctx.Err() == nil {
					// A transaction of compaction or retention can make
					// it fail: try again after another pause.
					s.logger.Debug("idle checkpoint failed", "err", err)
					timer.Reset(after)
				}
			}
		}
	})
}

// wroteIdle tells the idle checkpointer that a write committed; it never
// blocks.
func (s *Store) wroteIdle() {
	select {
	case s.idle.wrote <- struct{}{}:
	default:
	}
}

// stopIdleCheckpoints stops the goroutine, if any, and waits for it. It is
// idempotent.
func (s *Store) stopIdleCheckpoints() {
	if s.idle.stop != nil {
		s.idle.stop()
	}
	s.idle.wg.Wait()
}
