package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/sample"
	"github.com/loupehq/loupe/internal/server"
)

// noDecisions is a sample.Store that has decided nothing.
type noDecisions struct{}

func (noDecisions) Decisions(context.Context, string, []loupe.TraceID) (map[loupe.TraceID]loupe.Decision, error) {
	return nil, nil
}
func (noDecisions) Trace(context.Context, string, loupe.TraceID) (*loupe.Trace, error) {
	return nil, loupe.ErrNotFound
}

func do(h http.Handler, method, path, body string, p *auth.Principal) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if p != nil {
		req = req.WithContext(auth.NewContext(req.Context(), *p))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSamplingAPI(t *testing.T) {
	s, err := sample.New(t.Context(), sample.Options{Dir: t.TempDir(), Policy: sample.Production(),
		Next: &fakeIngester{}, Store: noDecisions{}, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	h := newHandler(t, server.Options{Sampling: s}, &fakeIngester{}, nil)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	viewer := &auth.Principal{Project: loupe.DefaultProject, Role: auth.RoleViewer}
	ingest := &auth.Principal{Project: loupe.DefaultProject, Role: auth.RoleIngest}

	tests := []struct {
		name       string
		method     string
		path, body string
		who        *auth.Principal
		wantStatus int
		wantBody   string
	}{
		{"PastExpiry", "POST", "/api/v1/sampling/boosts", `{"tenant":"t1","rate":1,"until":"2020-01-01T00:00:00Z"}`, nil, 400, "in the past"},
		{"UnknownField", "POST", "/api/v1/sampling/boosts", `{"tenant":"t1","rate":1,"for":"1h","colour":"red"}`, nil, 400, `unknown field \"colour\"`},
		{"NoSelector", "POST", "/api/v1/sampling/boosts", `{"rate":1,"for":"1h"}`, nil, 400, "tenant, route, model or prompt_version"},
		{"BadFor", "POST", "/api/v1/sampling/boosts", `{"tenant":"t1","rate":1,"for":"-1h"}`, nil, 400, "positive duration"},
		{"ViewerMayNotBoost", "POST", "/api/v1/sampling/boosts", `{"tenant":"t1","rate":1,"for":"1h"}`, viewer, 403, "admin"},
		{"ViewerMayNotRevoke", "DELETE", "/api/v1/sampling/boosts/bst_nope", "", viewer, 403, "admin"},
		{"IngestMayNotReadPolicy", "GET", "/api/v1/sampling/policy", "", ingest, 403, "may not read"},
		{"IngestMayNotReadDecision", "GET", "/api/v1/sampling/decisions/4bf92f3577b34da6a3ce929d0e0e4736", "", ingest, 403, "may not read"},
		{"IngestMayNotListBoosts", "GET", "/api/v1/sampling/boosts", "", ingest, 403, "may not read"},
		{"Created", "POST", "/api/v1/sampling/boosts", `{"tenant":"t1","rate":0.5,"until":"` + future + `"}`, nil, 201, `"rate":0.5`},
		{"Listed", "GET", "/api/v1/sampling/boosts", "", viewer, 200, `"tenant":"t1"`},
		{"Policy", "GET", "/api/v1/sampling/policy", "", viewer, 200, `"name":"production"`},
		{"Pending", "GET", "/api/v1/sampling/decisions/4bf92f3577b34da6a3ce929d0e0e4736", "", viewer, 200, `"state":"unknown"`},
		{"BadTraceID", "GET", "/api/v1/sampling/decisions/xyz", "", viewer, 400, "trace id"},
		{"RevokeUnknown", "DELETE", "/api/v1/sampling/boosts/bst_nope", "", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, tt.path, tt.body, tt.who)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	list := s.Boosts(loupe.DefaultProject)
	if len(list) != 1 {
		t.Fatalf("boosts = %+v, want 1", list)
	}
	if rec := do(h, "DELETE", "/api/v1/sampling/boosts/"+list[0].ID, "", nil); rec.Code != http.StatusNoContent {
		t.Errorf("DELETE = %d %s, want 204", rec.Code, rec.Body)
	}
	if got := s.Boosts(loupe.DefaultProject); len(got) != 0 {
		t.Errorf("boosts after revoke = %+v", got)
	}
}

func TestSamplingAPIOff(t *testing.T) {
	h := newHandler(t, server.Options{}, &fakeIngester{}, nil)
	if rec := do(h, "POST", "/api/v1/sampling/boosts", `{"tenant":"t1","rate":1,"for":"1h"}`, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "sampling is off") {
		t.Errorf("POST boost with sampling off = %d %s, want 400 sampling is off", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/sampling/policy", "", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"mode":"all"`) {
		t.Errorf("GET policy with sampling off = %d %s", rec.Code, rec.Body)
	}
}
