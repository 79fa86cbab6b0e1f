package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/server"
)

// holdingReader is a fake reader with retention holds.
type holdingReader struct {
	fakeReader
	mu    sync.Mutex
	holds map[string]bool // project/trace/reason
}

func (h *holdingReader) key(project string, id loupe.TraceID, reason string) string {
	return project + "/" + id.String() + "/" + reason
}

func (h *holdingReader) Hold(ctx context.Context, project string, id loupe.TraceID, reason string) error {
	if _, err := h.Trace(ctx, project, id); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holds[h.key(project, id, reason)] = true
	return nil
}

func (h *holdingReader) Release(_ context.Context, project string, id loupe.TraceID, reason string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.holds, h.key(project, id, reason))
	return nil
}

func (h *holdingReader) held() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k := range h.holds {
		out = append(out, k)
	}
	return out
}

func TestHandleHold(t *testing.T) {
	tr := referenceTrace()
	r := &holdingReader{fakeReader: *readerOf(tr), holds: map[string]bool{}}
	h := newHandler(t, server.Options{}, &fakeIngester{}, r)
	path := "/api/v1/traces/" + tr.TraceID.String() + "/hold"
	do := func(h http.Handler, method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}

	rec := do(h, http.MethodPut, path+"?reason=dataset:d1")
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT hold = %d %s, want 200", rec.Code, rec.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"trace_id": tr.TraceID.String(), "reason": "dataset:d1", "held": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PUT hold body (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{tr.Project + "/" + tr.TraceID.String() + "/dataset:d1"}, r.held()); diff != "" {
		t.Errorf("holds after PUT (-want +got):\n%s", diff)
	}
	if rec := do(h, http.MethodDelete, path+"?reason=dataset:d1"); rec.Code != http.StatusOK {
		t.Fatalf("DELETE hold = %d %s, want 200", rec.Code, rec.Body)
	}
	if got := r.held(); len(got) != 0 {
		t.Errorf("holds after DELETE = %v, want none", got)
	}

	t.Run("ErrNotFound", func(t *testing.T) {
		rec := do(h, http.MethodPut, "/api/v1/traces/0000000000000000000000000000abcd/hold")
		if rec.Code != http.StatusNotFound {
			t.Errorf("PUT hold of unknown trace = %d, want 404", rec.Code)
		}
	})
	t.Run("BadID", func(t *testing.T) {
		if rec := do(h, http.MethodPut, "/api/v1/traces/xyz/hold"); rec.Code != http.StatusBadRequest {
			t.Errorf("PUT hold of bad id = %d, want 400", rec.Code)
		}
	})
	t.Run("ViewerForbidden", func(t *testing.T) {
		viewer := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			p := auth.Principal{KeyID: "k", Project: tr.Project, Role: auth.RoleViewer}
			h.ServeHTTP(w, req.WithContext(auth.NewContext(req.Context(), p)))
		})
		if rec := do(viewer, http.MethodPut, path); rec.Code != http.StatusForbidden {
			t.Errorf("PUT hold as viewer = %d, want 403", rec.Code)
		}
		if got := r.held(); len(got) != 0 {
			t.Errorf("holds after a refused PUT = %v, want none", got)
		}
	})
	t.Run("NoHolder", func(t *testing.T) {
		h := newHandler(t, server.Options{}, &fakeIngester{}, readerOf(tr))
		if rec := do(h, http.MethodPut, path); rec.Code != http.StatusNotImplemented {
			t.Errorf("PUT hold without holder = %d, want 501", rec.Code)
		}
	})
}
