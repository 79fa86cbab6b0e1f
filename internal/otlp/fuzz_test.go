package otlp_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/loupehq/loupe/internal/otlp"
	"google.golang.org/protobuf/proto"
)

func FuzzDecodeTraces(f *testing.F) {
	pb, err := proto.Marshal(supportAgentRequest(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pb, false)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, false)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}`), true)
	f.Add([]byte(`{"resourceSpans":[`), true)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		enc := otlp.Protobuf
		if isJSON {
			enc = otlp.JSON
		}
		req, err := otlp.DecodeTraces(body, enc)
		if err != nil {
			if req != nil {
				t.Errorf("DecodeTraces returned a request with error %v", err)
			}
			return
		}
		if req == nil {
			t.Error("DecodeTraces returned nil without an error")
		}
	})
}

// FuzzNormalize decodes then normalizes arbitrary bodies; it must never
// panic, and every span it keeps must be valid.
func FuzzNormalize(f *testing.F) {
	pb, err := proto.Marshal(supportAgentRequest(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pb, false)
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b, true)
		}
	}
	n := otlp.NewNormalizer(otlp.Options{MaxAttributeBytes: 4096})
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		enc := otlp.Protobuf
		if isJSON {
			enc = otlp.JSON
		}
		if req, err := otlp.DecodeTraces(body, enc); err == nil {
			spans, rej := n.Traces("p", req, nil)
			for i := range spans {
				if err := spans[i].Validate(); err != nil {
					t.Errorf("kept invalid span: %v", err)
				}
			}
			if rej.Count < 0 || (rej.Count == 0) != (rej.Message == "") {
				t.Errorf("inconsistent rejection %+v", rej)
			}
		}
		if req, err := otlp.DecodeLogs(body, enc); err == nil {
			n.Logs("p", req, nil)
		}
	})
}
