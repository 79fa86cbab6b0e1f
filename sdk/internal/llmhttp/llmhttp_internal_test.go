package llmhttp

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	loupe "github.com/loupehq/loupe/sdk"
)

type recorder struct{ data []string }

func (r *recorder) Data(d []byte)                     { r.data = append(r.data, string(d)) }
func (r *recorder) Response() (loupe.Response, error) { return loupe.Response{}, nil }

// TestStreamBodySplitReads feeds an event stream one byte at a time, with
// CRLF line ends, comments, [DONE] and no final newline.
func TestStreamBodySplitReads(t *testing.T) {
	const in = ": comment\r\nevent: x\r\ndata: {\"a\":1}\r\n\r\ndata:{\"b\":2}\n\ndata: [DONE]\n\ndata: {\"c\":3}"
	rec := &recorder{}
	sb := &streamBody{rc: io.NopCloser(iotest.OneByteReader(strings.NewReader(in))), parser: rec}
	b, err := io.ReadAll(sb)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != in {
		t.Errorf("passed through %q, want %q", b, in)
	}
	if diff := cmp.Diff([]string{`{"a":1}`, `{"b":2}`, `{"c":3}`}, rec.data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if !sb.first {
		t.Errorf("first chunk not noticed")
	}
}
