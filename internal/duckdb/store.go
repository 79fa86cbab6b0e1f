// Package duckdb is loupe's embedded span store: a loupe.SpanWriter and
// loupe.TraceReader on one DuckDB database file in a data directory.
//
// Writes come from one writer goroutine (the ingest pipeline) and are group
// commits of many requests. Payloads, most of the bytes, do not go to
// DuckDB: every Write first appends the payloads of all its spans to the
// segment log (internal/segment, Dir/payloads) as compressed frames and
// fsyncs them, then appends the span rows (with each payload's location)
// and events with DuckDB appenders inside one transaction on a dedicated
// connection, so it is all-or-nothing for readers and durable once it
// returns nil. A crash between the two leaves payload bytes that no span
// row points to: harmless garbage, dropped with its segment by retention.
// Reads run on a pool of other connections; DuckDB's MVCC lets them proceed
// while a write is in progress.
package duckdb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/klauspost/compress/zstd"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/segment"
)

// FileName is the database file's name inside Options.Dir. DuckDB keeps its
// write-ahead log beside it, in FileName + ".wal".
const FileName = "loupe.duckdb"

// PayloadDir is the segment log's directory inside Options.Dir.
const PayloadDir = "payloads"

// Defaults for the zero Options, sized for a 2-core machine that also runs
// the ingest server.
const (
	// DefaultMemoryLimit caps DuckDB's buffer pool so that the whole server
	// stays under 1 GiB of RSS at full ingest and while querying; DuckDB's
	// own default (80% of RAM) would let it take the machine. Measured on
	// 10M stored spans (BENCHMARKS.md): 512MB answers every benchmark query
	// as fast as 1GB (the evicted blocks come back from the page cache) with
	// a peak RSS of 844-876 MiB against 1.1-1.25 GiB.
	DefaultMemoryLimit = "512MB"
	// DefaultThreads is DuckDB's worker threads per query.
	DefaultThreads = 2
)

// payloadFrameBytes is the raw size of a payload frame. Reading one
// trace's payloads decompresses its frame: measured with the segment
// benchmarks (BenchmarkRead, BenchmarkAppend, standard workload), 1 MiB
// frames read one trace in 0.46 ms against 1.29 ms at 4 MiB
// (segment.DefaultFrameBytes), for a compression ratio of 31.7 against
// 35.9 (about 4 more bytes per span on disk) at the same append speed.
const payloadFrameBytes = 1 << 20

// maxReaders bounds the read connections (each one holds DuckDB state).
const maxReaders = 8

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options configures Open. The zero value of every field means its default.
type Options struct {
	// Dir is the data directory; the database file is Dir/loupe.duckdb.
	// Created if missing. Required.
	Dir string
	// MemoryLimit is DuckDB's memory_limit ("1GB", "512MB"); "" means
	// DefaultMemoryLimit.
	MemoryLimit string
	// Threads is DuckDB's threads setting; 0 means DefaultThreads.
	Threads int
	// Logger receives lifecycle messages; nil discards them.
	Logger *slog.Logger

	// Retention is the retention policy EnforceRetention applies; nil
	// means DefaultRetention for every project.
	Retention *RetentionPolicy
	// RetentionEvery, when positive, makes Open start a goroutine that
	// runs EnforceRetention that often (and once soon after Open), until
	// Close; 0 starts none (the caller runs EnforceRetention).
	RetentionEvery time.Duration
	// Now is the clock of the background enforcement and of holds; nil
	// means time.Now.
	Now func() time.Time
	// Registerer, when set, receives the store's retention metrics.
	Registerer prometheus.Registerer
	// SegmentBytes is the payload segment files' rotation size (retention
	// deletes or rewrites whole files); 0 means segment.DefaultSegmentBytes.
	SegmentBytes int64
	// IdleCheckpoint is how long writes must pause before the rows in
	// DuckDB's WAL are checkpointed into the database file (idle.go); 0
	// means DefaultIdleCheckpoint, negative never.
	IdleCheckpoint time.Duration
}

// Store is a DuckDB-backed span store. Its methods are safe for concurrent
// use; Write calls are serialized.
type Store struct {
	// ftsDec decompresses postings rows (fulltext_zstd.go); safe for
	// concurrent use.
	ftsDec *zstd.Decoder
	db     *sql.DB // read connections; also owns the DuckDB instance
	path   string  // database file
	logger *slog.Logger
	seg    *segment.Log // payloads

	// multiCap, when nonzero (tests only), replaces maxMultiTraces; -1
	// means none inline.
	multiCap int
	// ftsCap, when nonzero (tests only), replaces ftsMaxSpans.
	ftsCap int
	// ftsCompactCap, when nonzero (tests only), replaces ftsCompactSpans.
	ftsCompactCap int
	// compact merges small full-text blocks (fulltext_compact.go); made
	// by Open.
	compact *ftsCompactor
	// idle checkpoints the WAL when writes pause (idle.go).
	idle idleCheckpointer
	// tracePages counts tracePage calls (tests: a search that skips
	// its windows).
	tracePages atomic.Int64
	// beforeCommit, when set (tests only), runs inside the write
	// transaction after every row is appended; an error aborts the write.
	beforeCommit func() error

	// closed is set by Close (under mu); Trace reads it without mu, so
	// that reads never wait for a write.
	closed atomic.Bool

	// mu guards the writer state. Write holds it for the whole transaction;
	// Close takes it to wait for a write in progress.
	mu    sync.Mutex
	w     *writer   // nil until first use and after a failed write
	wconn *sql.Conn // the writer's pinned connection
	fts   ftsState  // full-text indexer, reused by writes (fulltext.go)

	// Retention (retention.go). retMu serializes EnforceRetention runs.
	retention  RetentionPolicy
	now        func() time.Time
	retMu      sync.Mutex
	retMetrics *retentionMetrics
	retStop    context.CancelFunc // stops the background enforcement
	retWG      sync.WaitGroup
	// prep recycles the scratch space of Prepare (prepare.go); not
	// guarded by mu.
	prep preparer
	// recent sets trace_parts.cont (recent.go); made by Open.
	recent *recentTraces
	// res is the writer's memory of stored resources (resources.go);
	// guarded by mu.
	res resourceSet
	// resCache holds stored resources for reads (resources.go).
	resCache resourceCache
}

var (
	_ loupe.SpanWriter  = (*Store)(nil)
	_ loupe.TraceReader = (*Store)(nil)
)

// Open opens or creates the store in opts.Dir and applies pending schema
// migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("open duckdb store: %w: no data directory", loupe.ErrInvalid)
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if opts.Threads <= 0 {
		opts.Threads = DefaultThreads
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "duckdb")

	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(opts.Dir, FileName)
	connector, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1 + maxReaders) // the writer's pinned connection plus readers
	db.SetMaxIdleConns(maxReaders)
	s := &Store{db: db, path: path, logger: logger, now: opts.Now, retention: RetentionPolicy{Default: DefaultRetention()}}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.Retention != nil {
		if err := opts.Retention.Validate(); err != nil {
			db.Close()
			return nil, fmt.Errorf("open duckdb store: retention %w", err)
		}
		s.retention = RetentionPolicy{Default: opts.Retention.Default, Projects: maps.Clone(opts.Retention.Projects)}
	}
	s.retMetrics = newRetentionMetrics()
	s.compact = newFTSCompactor()
	if s.ftsDec, err = newPostingsDecoder(); err != nil {
		db.Close()
		return nil, err
	}

	if err := s.configure(ctx, opts); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if s.recent, err = openRecent(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadResources(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	seg, err := segment.Open(filepath.Join(opts.Dir, PayloadDir), segment.Options{Logger: logger,
		SegmentBytes: opts.SegmentBytes, FrameBytes: payloadFrameBytes})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open payload log: %w", err)
	}
	s.seg = seg
	wconn, err := db.Conn(ctx)
	if err != nil {
		seg.Close()
		db.Close()
		return nil, fmt.Errorf("open writer connection: %w", err)
	}
	s.wconn = wconn
	logger.Info("store opened", "path", path, "memory_limit", opts.MemoryLimit, "threads", opts.Threads)
	if err := s.retMetrics.register(opts.Registerer); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.compact.metrics.register(opts.Registerer); err != nil {
		s.Close()
		return nil, err
	}
	s.startCompaction()
	s.startIdleCheckpoints(opts.IdleCheckpoint)
	if opts.RetentionEvery > 0 {
		s.startRetention(opts.RetentionEvery)
	}
	return s, nil
}

// configure applies the database-wide settings.
func (s *Store) configure(ctx context.Context, opts Options) error {
	settings := []string{
		// Bound DuckDB's buffer pool; see DefaultMemoryLimit.
		"SET memory_limit = " + quote(opts.MemoryLimit),
		"SET threads = " + strconv.Itoa(opts.Threads),
		// Checkpoint (fold the WAL into the database file, compressing the
		// new rows) once the WAL passes 128 MB, about 110k standard spans,
		// and when writes pause (idle.go). Each checkpoint rewrites the
		// last, partly filled row group (122,880 rows), so rare checkpoints
		// cost less CPU per span: measured with BenchmarkWrite, 16 MB: 37
		// µs, 64 MB: 24 µs, 128 MB: 18 µs, 256 MB: 16 µs of CPU per span.
		// 512 MB gave 6-11% more spans/s in the ingest harness but blocked
		// commits for longer at each checkpoint, spilled unflushed rows to
		// temp_directory, and left the index rows that compaction deleted
		// in the file (+1 point of disk per OTLP byte; BENCHMARKS.md, fifth
		// session). Replaying a 114 MB WAL at reopen takes about 0.5 s.
		"SET checkpoint_threshold = '128MB'",
		// Spill to a directory inside the data dir, not the working dir.
		"SET temp_directory = " + quote(s.path+".tmp"),
	}
	for _, q := range settings {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("configure duckdb (%s): %w", q, err)
		}
	}
	return nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// migrate applies the embedded migrations/NNNN_name.sql files that are not
// recorded in schema_migrations yet, each in its own transaction, in order.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name VARCHAR NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	seen := make(map[int]string, len(names))
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		// Two files with one number would skip the second silently.
		if other, dup := seen[version]; dup {
			return fmt.Errorf("migrations %s and %s share version %d", other, base, version)
		}
		seen[version] = base
		if err := s.migrateOne(ctx, version, name); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

func (s *Store) migrateOne(ctx context.Context, version int, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrationFS.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`,
		version, filepath.Base(name)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.logger.Info("migration applied", "version", version, "name", filepath.Base(name))
	return nil
}

// Close waits for a write in progress, then closes the database, which
// checkpoints the WAL into the database file. Close is idempotent.
func (s *Store) Close() error {
	s.stopRetention() // before mu: a run in progress takes it per chunk
	s.stopCompaction()
	s.stopIdleCheckpoints()
	s.compact.mu.Lock() // wait for a compactFullText call in progress
	defer s.compact.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil
	}
	s.closed.Store(true)
	var errs []error
	if s.w != nil {
		errs = append(errs, s.w.close())
		s.w = nil
	}
	errs = append(errs, s.wconn.Close(), s.db.Close(), s.seg.Close())
	s.ftsDec.Close()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close duckdb store: %w", err)
	}
	s.logger.Info("store closed", "path", s.path)
	return nil
}

// DiskBytes returns the bytes used by the database file, its WAL and the
// payload segments.
func (s *Store) DiskBytes() (int64, error) {
	n, err := s.seg.Size()
	if err != nil {
		return 0, fmt.Errorf("disk bytes: %w", err)
	}
	for _, p := range []string{s.path, s.path + ".wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("disk bytes: %w", err)
		}
		n += fi.Size()
	}
	return n, nil
}

// checkpoint folds the WAL into the database file (benchmarks and tests).
func (s *Store) checkpoint(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// ftsLimit returns the bound on the candidate spans of one full-text
// condition.
// multiLimit is the most several-part trace ids a window query carries
// inline (window.go).
func (s *Store) multiLimit() int {
	switch {
	case s.multiCap < 0:
		return 0
	case s.multiCap > 0:
		return s.multiCap
	}
	return maxMultiTraces
}

func (s *Store) ftsLimit() int {
	if s.ftsCap > 0 {
		return s.ftsCap
	}
	return ftsMaxSpans
}
