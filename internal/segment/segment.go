// Package segment is loupe's append-only log of compressed records: the
// durable home of span payloads (prompts, completions, tool arguments,
// retrieved documents), kept out of the metadata database because they are
// most of the bytes and compress far better together than one by one.
//
// A Log is a directory of numbered segment files (00000001.seg, ...), each
// rotated at about Options.SegmentBytes. Every Append writes the records it
// is given as one or more frames (see frame.go for the versioned format):
// the records of a group commit are zstd-compressed together, so text that
// repeats across spans and traces (system prompts, policy documents) is
// stored about once per frame. Append fdatasyncs before it returns: a Ref it
// returns stays readable after a crash. Open truncates a torn tail frame
// left by a crash in the middle of an Append.
//
// One goroutine appends at a time (Append serializes callers); any number
// may Read concurrently with it.
package segment

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"

	"github.com/loupehq/loupe"
)

// Defaults of the zero Options.
const (
	// DefaultSegmentBytes is the size past which Append starts a new
	// segment file; retention drops whole segments.
	DefaultSegmentBytes = 256 << 20
	// DefaultFrameBytes bounds the raw bytes of one frame. A read of one
	// record decompresses its whole frame, so this bounds a cold read's
	// work (about 4 ms at 4 MiB); larger frames compress a little better.
	DefaultFrameBytes = 4 << 20
	// DefaultCacheFrames and DefaultCacheBytes bound the cache of
	// decompressed frames that serves reads of recent traces.
	DefaultCacheFrames = 8
	DefaultCacheBytes  = 64 << 20
)

// Options configures Open. The zero value of every field means its default.
type Options struct {
	SegmentBytes int64
	FrameBytes   int
	// Level is the zstd encoder level; 0 means zstd.SpeedFastest. On the
	// standard workload's payload JSON (BenchmarkAppend) it compresses
	// about 36x at 4 MiB frames against about 44x for SpeedDefault; the
	// payloads are then ~17% of the store's bytes, so CPU matters more.
	// The measured speeds were too noisy on a shared machine to rank.
	Level       zstd.EncoderLevel
	CacheFrames int
	CacheBytes  int64
	// Logger receives recovery messages; nil discards them.
	Logger *slog.Logger
}

// Ref locates one record: the frame starting at byte Offset of segment
// file Segment, and the record's position in that frame.
type Ref struct {
	Segment uint32
	Offset  uint64
	Index   uint32
}

// Log is an open segment directory. Its methods are safe for concurrent use.
type Log struct {
	dir    string
	opts   Options
	logger *slog.Logger
	enc    *zstd.Encoder // used under mu only
	dec    *zstd.Decoder // DecodeAll is safe for concurrent use

	size atomic.Int64 // bytes of every segment file

	// mu guards the writer state.
	mu         sync.Mutex
	active     *os.File // the segment being appended to; also in files
	activeSeg  uint32
	activeSize int64
	failed     error  // set when an fdatasync failed: the file's state is unknown
	raw        []byte // one frame's uncompressed body, reused
	out        []byte // the frames of one Append, reused

	// fmu guards files and closed; readers hold it shared while they read.
	fmu    sync.RWMutex
	files  map[uint32]*os.File // open segment files by number
	closed bool

	cache frameCache
}

// Open opens the log in dir, creating the directory if needed, and recovers
// the last segment: a torn or corrupt frame at its end, and anything after
// it, is truncated away (it was never acknowledged).
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.FrameBytes <= 0 {
		opts.FrameBytes = DefaultFrameBytes
	}
	opts.FrameBytes = min(opts.FrameBytes, maxRawBytes/2)
	if opts.Level == 0 {
		opts.Level = zstd.SpeedFastest
	}
	if opts.CacheFrames <= 0 {
		opts.CacheFrames = DefaultCacheFrames
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create segment directory: %w", err)
	}
	enc, err := newEncoder(opts)
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(4), // concurrent DecodeAll calls
		zstd.WithDecoderMaxMemory(maxRawBytes),
		zstd.WithDecodeAllCapLimit(true), // never decode past the header's raw length
		zstd.IgnoreChecksum(true),        // frames carry their own CRC-32C
	)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("create zstd decoder: %w", err)
	}
	l := &Log{
		dir: dir, opts: opts, logger: logger.With("component", "segment"),
		enc: enc, dec: dec,
		files: map[uint32]*os.File{},
		cache: frameCache{maxFrames: opts.CacheFrames, maxBytes: opts.CacheBytes},
	}
	if err := l.recover(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func newEncoder(opts Options) (*zstd.Encoder, error) {
	window := zstd.MinWindowSize
	for window < opts.FrameBytes && window < zstd.MaxWindowSize {
		window *= 2
	}
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(opts.Level),
		zstd.WithEncoderConcurrency(1),
		// A window as large as the frame lets a record reuse text of any
		// earlier record of the same group commit.
		zstd.WithWindowSize(window),
		zstd.WithEncoderCRC(false), // frames carry their own CRC-32C
	)
	if err != nil {
		return nil, fmt.Errorf("create zstd encoder: %w", err)
	}
	return enc, nil
}

// segmentName returns the file name of segment n.
func segmentName(n uint32) string { return fmt.Sprintf("%08d.seg", n) }

// recover finds the segments, validates the last one's frames and truncates
// its tail after the last good frame, and opens it for appending.
func (l *Log) recover() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("list segments: %w", err)
	}
	var nums []uint32
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 32)
		if err != nil || n == 0 {
			continue
		}
		nums = append(nums, uint32(n))
	}
	slices.Sort(nums)
	if len(nums) == 0 {
		return l.create(1)
	}
	var sealed int64
	for _, n := range nums[:len(nums)-1] {
		fi, err := os.Stat(filepath.Join(l.dir, segmentName(n)))
		if err != nil {
			return fmt.Errorf("stat segment: %w", err)
		}
		sealed += fi.Size()
	}
	last := nums[len(nums)-1]
	path := filepath.Join(l.dir, segmentName(last))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat segment: %w", err)
	}
	good, scanErr := scan(f, fi.Size())
	if scanErr != nil {
		l.logger.Warn("truncating torn segment tail", "segment", path,
			"offset", good, "dropped_bytes", fi.Size()-good, "err", scanErr)
		if err := f.Truncate(good); err != nil {
			f.Close()
			return fmt.Errorf("truncate segment: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("sync segment: %w", err)
		}
	}
	l.files[last] = f
	l.active, l.activeSeg, l.activeSize = f, last, good
	l.size.Store(sealed + good)
	return nil
}

// scan walks the frames of a segment of the given size and returns the end
// of the last valid one, and why it stopped if not at the end of the file.
func scan(r io.ReaderAt, size int64) (int64, error) {
	var off int64
	var hb [headerSize]byte
	var body []byte
	for off < size {
		h, err := readHeader(r, off, hb[:])
		if err != nil {
			return off, err
		}
		if off+headerSize+int64(h.compressed) > size {
			return off, fmt.Errorf("%w: frame overruns the file", errCorrupt)
		}
		body = slices.Grow(body[:0], int(h.compressed))[:h.compressed]
		if _, err := r.ReadAt(body, off+headerSize); err != nil {
			return off, fmt.Errorf("read frame body: %w", err)
		}
		if err := h.checkBody(body); err != nil {
			return off, err
		}
		off += headerSize + int64(h.compressed)
	}
	return off, nil
}

func readHeader(r io.ReaderAt, off int64, hb []byte) (header, error) {
	if n, err := r.ReadAt(hb[:headerSize], off); n < headerSize {
		if err == nil || errors.Is(err, io.EOF) {
			return header{}, fmt.Errorf("%w: short header", errCorrupt)
		}
		return header{}, fmt.Errorf("read frame header: %w", err)
	}
	return parseHeader(hb)
}

// create starts segment n as the active segment.
func (l *Log) create(n uint32) error {
	f, err := os.OpenFile(filepath.Join(l.dir, segmentName(n)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	// The new file's directory entry must be durable before any Ref into
	// it is acknowledged.
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.fmu.Lock()
	l.files[n] = f
	l.fmu.Unlock()
	l.active, l.activeSeg, l.activeSize = f, n, 0
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open segment directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync segment directory: %w", err)
	}
	return nil
}

// Append writes records durably and returns one Ref per record, in order.
// Records of one call share frames (compressed together, up to
// Options.FrameBytes raw bytes each); it returns after the frames are
// written and fdatasync'ed. On error nothing it wrote is referenced, and
// nothing is readable through a Ref. It returns an error wrapping
// loupe.ErrClosed after Close.
func (l *Log) Append(records [][]byte) ([]Ref, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed() {
		return nil, fmt.Errorf("append records: %w", loupe.ErrClosed)
	}
	if l.failed != nil {
		return nil, fmt.Errorf("append records: log failed earlier: %w", l.failed)
	}
	if len(records) == 0 {
		return nil, nil
	}
	if l.activeSize >= l.opts.SegmentBytes {
		if err := l.create(l.activeSeg + 1); err != nil {
			return nil, fmt.Errorf("append records: %w", err)
		}
	}
	refs := make([]Ref, len(records))
	start := l.activeSize
	out := l.out[:0]
	for i := 0; i < len(records); {
		raw := l.raw[:0]
		j := i
		for ; j < len(records); j++ {
			n := binary.MaxVarintLen64 + len(records[j])
			if j > i && len(raw)+n > l.opts.FrameBytes {
				break
			}
			if len(raw)+n > maxRawBytes {
				return nil, fmt.Errorf("append records: record %d of %d bytes is too large", j, len(records[j]))
			}
			raw = binary.AppendUvarint(raw, uint64(len(records[j])))
			raw = append(raw, records[j]...)
		}
		frameOff := start + int64(len(out))
		hpos := len(out)
		out = append(out, make([]byte, headerSize)...)
		out = l.enc.EncodeAll(raw, out)
		body := out[hpos+headerSize:]
		h := header{
			compressed: uint32(len(body)),
			raw:        uint32(len(raw)),
			count:      uint32(j - i),
			crc:        crc32.Checksum(body, castagnoli),
		}
		h.put(out[hpos:])
		for k := i; k < j; k++ {
			refs[k] = Ref{Segment: l.activeSeg, Offset: uint64(frameOff), Index: uint32(k - i)}
		}
		l.raw, i = raw, j
	}
	l.out = out
	if cap(l.raw) > 4*l.opts.FrameBytes {
		l.raw = nil // one huge record; do not keep its scratch space
	}
	if cap(l.out) > 64<<20 {
		l.out = nil
	}
	if _, err := l.active.WriteAt(out, start); err != nil {
		// Cut the partial write off so that the next frame follows the
		// last good one; if that fails too, recovery at the next Open does.
		if terr := l.active.Truncate(start); terr != nil {
			l.failed = terr
		}
		return nil, fmt.Errorf("append records: write segment: %w", err)
	}
	if err := fdatasync(l.active); err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages:
		// nothing written since the last good sync can be trusted, and a
		// retry could report success for lost data. Refuse further appends.
		l.failed = err
		return nil, fmt.Errorf("append records: sync segment: %w", err)
	}
	l.activeSize += int64(len(out))
	l.size.Add(int64(len(out)))
	return refs, nil
}

func (l *Log) isClosed() bool {
	l.fmu.RLock()
	defer l.fmu.RUnlock()
	return l.closed
}

// Read returns a copy of the record each ref points to, in the order of
// refs. Refs into the same frame cost one read and decompression of it, and
// recently read frames are cached. It returns an error for a ref that
// Append did not return (no such segment, frame or index), and one wrapping
// loupe.ErrClosed after Close.
func (l *Log) Read(refs []Ref) ([][]byte, error) {
	out := make([][]byte, len(refs))
	order := make([]int, len(refs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(refs[a].Segment, refs[b].Segment), cmp.Compare(refs[a].Offset, refs[b].Offset))
	})
	var f *frame
	for _, i := range order {
		r := refs[i]
		if f == nil || f.key != (frameKey{r.Segment, r.Offset}) {
			var err error
			if f, err = l.frame(frameKey{r.Segment, r.Offset}); err != nil {
				return nil, fmt.Errorf("read records: %w", err)
			}
		}
		rec, ok := f.record(r.Index)
		if !ok {
			return nil, fmt.Errorf("read records: segment %d frame %d has no record %d", r.Segment, r.Offset, r.Index)
		}
		out[i] = slices.Clone(rec)
	}
	return out, nil
}

// frame returns the decompressed frame at key, from the cache or the file.
func (l *Log) frame(key frameKey) (*frame, error) {
	if f := l.cache.get(key); f != nil {
		return f, nil
	}
	l.fmu.RLock()
	defer l.fmu.RUnlock()
	if l.closed {
		return nil, loupe.ErrClosed
	}
	file := l.files[key.seg]
	if file == nil {
		var err error
		if file, err = os.Open(filepath.Join(l.dir, segmentName(key.seg))); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %d", ErrNoSegment, key.seg)
			}
			return nil, err
		}
		// Upgrade to the write lock to publish the handle; another reader
		// may have opened it meanwhile.
		l.fmu.RUnlock()
		l.fmu.Lock()
		if l.closed {
			file.Close()
			l.fmu.Unlock()
			l.fmu.RLock()
			return nil, loupe.ErrClosed
		}
		if other := l.files[key.seg]; other != nil {
			file.Close()
			file = other
		} else {
			l.files[key.seg] = file
		}
		l.fmu.Unlock()
		l.fmu.RLock()
		if l.closed {
			return nil, loupe.ErrClosed
		}
	}
	f, err := readFrame(file, int64(key.off), l.dec)
	if err != nil {
		return nil, fmt.Errorf("segment %d frame %d: %w", key.seg, key.off, err)
	}
	f.key = key
	l.cache.put(f)
	return f, nil
}

// readFrame reads, verifies and decompresses the frame at off.
func readFrame(r io.ReaderAt, off int64, dec *zstd.Decoder) (*frame, error) {
	var hb [headerSize]byte
	h, err := readHeader(r, off, hb[:])
	if err != nil {
		return nil, err
	}
	body := make([]byte, h.compressed)
	if n, err := r.ReadAt(body, off+headerSize); n < len(body) {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: short body", errCorrupt)
		}
		return nil, fmt.Errorf("read frame body: %w", err)
	}
	if err := h.checkBody(body); err != nil {
		return nil, err
	}
	raw, err := dec.DecodeAll(body, make([]byte, 0, h.raw))
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %w", errCorrupt, err)
	}
	if len(raw) != int(h.raw) {
		return nil, fmt.Errorf("%w: decompressed %d bytes, want %d", errCorrupt, len(raw), h.raw)
	}
	offs, err := splitRecords(raw, h.count, make([]uint32, 0, 2*h.count))
	if err != nil {
		return nil, err
	}
	return &frame{raw: raw, offs: offs}, nil
}

// Size returns the bytes of every segment file.
func (l *Log) Size() (int64, error) { return l.size.Load(), nil }

// Close closes the segment files; it waits for an Append in progress.
// Close is idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fmu.Lock()
	defer l.fmu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	for _, f := range l.files {
		errs = append(errs, f.Close())
	}
	l.files = nil
	l.active = nil
	errs = append(errs, l.enc.Close())
	l.dec.Close()
	l.cache.clear()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close segment log: %w", err)
	}
	return nil
}
