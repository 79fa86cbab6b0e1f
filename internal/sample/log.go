package sample

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/loupehq/loupe/internal/atomicfile"
)

// The pending log holds every batch the sampler acknowledged and the store
// has not yet taken a decision for. It is a directory of numbered files
// (00000001.pending, ...); each record is
//
//	uint32 length (big endian) | uint32 CRC-32C of the body | body
//
// where the body is a record in the binary format (codec_bin.go; records
// of the JSON format of earlier versions are read too, see codec.go). A file is deleted once no
// trace with spans in it is still waiting (reference counts kept by the
// sampler) and it is no longer the file being appended to.

// recordHeader is the bytes before each record body.
const recordHeader = 8

// maxRecordBytes bounds one record, so a corrupt length cannot make replay
// allocate without bound.
const maxRecordBytes = 256 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// pendingLog is an append-only, group-committed log of records.
type pendingLog struct {
	dir      string
	maxBytes int64 // rotate the current file past this size
	log      *slog.Logger

	// flush serializes writers: the caller holding it writes the queued
	// records of everyone (group commit).
	flush sync.Mutex

	mu      sync.Mutex
	cur     *os.File
	curNo   uint32
	curSize int64
	refs    map[uint32]int   // outstanding references per file
	sizes   map[uint32]int64 // bytes of each file not yet deleted
	bytes   int64            // sum of sizes
	queue   []*appendReq     // records waiting for the next group write
	closed  bool
}

type appendReq struct {
	body []byte
	no   uint32
	err  error
	done chan struct{}
}

// replayed is one record read back at open.
type replayed struct {
	no   uint32
	body []byte
}

func fileName(n uint32) string { return fmt.Sprintf("%08d.pending", n) }

// openLog opens dir, returns the records of the existing files in order,
// and starts a new file for appends. A torn or corrupt tail (a crash in the
// middle of a write, never acknowledged) ends a file's records.
func openLog(dir string, maxBytes int64, log *slog.Logger) (*pendingLog, []replayed, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create sampling log: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read sampling log: %w", err)
	}
	var nums []uint32
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".pending")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(base, 10, 32)
		if err != nil {
			continue
		}
		nums = append(nums, uint32(n))
	}
	slices.Sort(nums)
	l := &pendingLog{dir: dir, maxBytes: maxBytes, log: log, refs: make(map[uint32]int), sizes: make(map[uint32]int64)}
	var recs []replayed
	for _, n := range nums {
		rs, size, err := readLogFile(filepath.Join(dir, fileName(n)), n, log)
		if err != nil {
			return nil, nil, err
		}
		recs = append(recs, rs...)
		l.refs[n] = 0
		l.sizes[n] = size
		l.bytes += size
		l.curNo = n
	}
	if err := l.createLocked(l.curNo + 1); err != nil {
		return nil, nil, err
	}
	return l, recs, nil
}

// readLogFile reads every whole record of one file and returns them with
// the file's size.
func readLogFile(path string, n uint32, log *slog.Logger) ([]replayed, int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read sampling log: %w", err)
	}
	var out []replayed
	off := 0
	for off < len(data) {
		body, next, err := parseRecord(data, off)
		if err != nil {
			log.Warn("sampling log: ignoring the torn tail of a file", "file", path, "offset", off, "bytes", len(data)-off, "err", err)
			break
		}
		out = append(out, replayed{no: n, body: body})
		off = next
	}
	return out, int64(len(data)), nil
}

// parseRecord reads the record at off of data.
func parseRecord(data []byte, off int) (body []byte, next int, err error) {
	if len(data)-off < recordHeader {
		return nil, 0, errors.New("short header")
	}
	size := int(binary.BigEndian.Uint32(data[off:]))
	sum := binary.BigEndian.Uint32(data[off+4:])
	if size > maxRecordBytes || len(data)-off-recordHeader < size {
		return nil, 0, errors.New("short body")
	}
	body = data[off+recordHeader : off+recordHeader+size]
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, 0, errors.New("checksum mismatch")
	}
	return body, off + recordHeader + size, nil
}

// createLocked starts file n and makes it current.
func (l *pendingLog) createLocked(n uint32) error {
	f, err := os.OpenFile(filepath.Join(l.dir, fileName(n)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create sampling log file: %w", err)
	}
	if err := atomicfile.SyncDir(l.dir); err != nil {
		f.Close()
		return fmt.Errorf("sync sampling log directory: %w", err)
	}
	old := l.cur
	oldNo := l.curNo
	l.cur, l.curNo, l.curSize = f, n, 0
	l.refs[n] = 0
	if old != nil {
		old.Close()
		l.maybeRemoveLocked(oldNo)
	}
	return nil
}

// append writes body durably and returns the number of the file it went
// to, holding one reference on that file for the caller (release it with
// unref). Concurrent appends share one write and one fsync.
func (l *pendingLog) append(body []byte) (uint32, error) {
	req := &appendReq{body: body, done: make(chan struct{})}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, errors.New("sampling log closed")
	}
	l.queue = append(l.queue, req)
	l.mu.Unlock()

	// Whoever gets the flush lock writes everything queued so far; a
	// caller whose record an earlier flusher took finds it done.
	l.flush.Lock()
	select {
	case <-req.done:
	default:
		l.writeQueued()
	}
	l.flush.Unlock()
	<-req.done
	return req.no, req.err
}

// writeQueued writes every queued record with one write and one fsync.
// The caller holds l.flush.
func (l *pendingLog) writeQueued() {
	l.mu.Lock()
	group := l.queue
	l.queue = nil
	f, no := l.cur, l.curNo
	l.refs[no] += len(group)
	l.mu.Unlock()
	if len(group) == 0 {
		return
	}
	size := 0
	for _, r := range group {
		size += recordHeader + len(r.body)
	}
	buf := make([]byte, 0, size)
	for _, r := range group {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(r.body)))
		buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(r.body, castagnoli))
		buf = append(buf, r.body...)
	}
	_, err := f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		err = fmt.Errorf("append to sampling log: %w", err)
	}

	l.mu.Lock()
	if err != nil {
		l.refs[no] -= len(group)
	} else {
		l.curSize += int64(len(buf))
		l.sizes[no] += int64(len(buf))
		l.bytes += int64(len(buf))
	}
	var rerr error
	if err == nil && l.curSize >= l.maxBytes && !l.closed {
		rerr = l.createLocked(no + 1)
	}
	l.mu.Unlock()
	if rerr != nil {
		l.log.Warn("sampling log: rotation failed; appending to the current file", "err", rerr)
	}
	for _, r := range group {
		r.no, r.err = no, err
		close(r.done)
	}
}

// ref adds n references to file no.
func (l *pendingLog) ref(no uint32, n int) {
	l.mu.Lock()
	l.refs[no] += n
	l.mu.Unlock()
}

// unref drops n references to file no and deletes the file when none is
// left and it is not current.
func (l *pendingLog) unref(no uint32, n int) {
	l.mu.Lock()
	l.refs[no] -= n
	l.maybeRemoveLocked(no)
	l.mu.Unlock()
}

// sweep deletes every unreferenced file but the current one (after replay).
func (l *pendingLog) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for no := range l.refs {
		l.maybeRemoveLocked(no)
	}
}

func (l *pendingLog) maybeRemoveLocked(no uint32) {
	if n, ok := l.refs[no]; !ok || n > 0 || no == l.curNo {
		return
	}
	delete(l.refs, no)
	l.bytes -= l.sizes[no]
	delete(l.sizes, no)
	if err := os.Remove(filepath.Join(l.dir, fileName(no))); err != nil && !errors.Is(err, os.ErrNotExist) {
		l.log.Warn("sampling log: cannot delete a decided file", "file", fileName(no), "err", err)
	}
}

// size returns the bytes of the log files not yet deleted (metrics).
func (l *pendingLog) size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes
}

// close closes the current file, deleting it when unreferenced. Later
// appends fail.
func (l *pendingLog) close() error {
	l.flush.Lock()
	defer l.flush.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if err := l.cur.Close(); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("close sampling log: %w", err)
	}
	// The current file goes too when no trace needs it any more (after a
	// drain), so a clean stop leaves no decided bytes behind.
	no := l.curNo
	l.curNo = 0 // file numbers start at 1: no file is current any more
	l.maybeRemoveLocked(no)
	return nil
}
