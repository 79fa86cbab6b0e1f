package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/loupehq/loupe/internal/auth"
)

// injections are hostile strings for the filter language and every query
// parameter.
var injections = []string{
	`' OR 1=1 --`,
	`"); DROP TABLE spans; --`,
	`tenant = "x" or project = "b"`,
	`service = "x" or 1=1`,
	`service = "svc-project-b"`,
	`project = "b"`,
	`attributes.project = "b"`,
	`"project" = 'b'`,
	`service = “svc-project-b”`,
	`service = "x\u0000" or service = "svc-project-b"`,
	"service = \"x\x00\" or true",
	`"a\"b" = "c"`,
	`"key with \"quotes\" and '" = "b"`,
	`input contains "secret-payload-of-project-b"`,
	`payload contains "%" or input contains "_"`,
	`trace.id = "` + strings.Repeat("0", 32) + `" or trace.status = ok`,
	`service ~ "*"`,
	`name ~ "*' OR '1'='1"`,
	`1; SELECT * FROM spans`,
	`\x27 or 1=1`,
	`service in ("svc-project-a", "svc-project-b")`,
	`not (service = "nothing")`,
	strings.Repeat("(", 500) + `service = "x"` + strings.Repeat(")", 500),
}

// TestAuthInjection sends each injection as q= and as every other query
// parameter of search and stats, as a's debugger (who may search payload
// text): every answer is a 400 or a result without b's data.
func TestAuthInjection(t *testing.T) {
	e := newAuthEnv(t)
	params := []string{"q", "since", "from", "to", "limit", "cursor", "sort", "by", "level", "interval"}
	paths := []string{"/api/v1/traces", "/api/v1/stats"}
	seenOK := 0
	for _, path := range paths {
		for _, param := range params {
			for i, inj := range injections {
				t.Run(fmt.Sprintf("%s/%s/%d", path, param, i), func(t *testing.T) {
					v := url.Values{param: {inj}}
					if param != "since" && param != "from" && param != "to" {
						v.Set("since", "2h")
					}
					status, body := e.do(t, "a-debugger", "GET", path+"?"+v.Encode(), "", nil)
					switch status {
					case 200:
						seenOK++
					case 400:
					default:
						t.Errorf("%s?%s = %d %s, want 400 or 200", path, v.Encode(), status, clip(body))
					}
					checkNoLeak(t, "a-debugger", "a", auth.RoleDebugger, body, inj)
					if strings.Contains(body, e.traceB) {
						t.Errorf("%s?%s returned b's trace: %s", path, v.Encode(), clip(body))
					}
				})
			}
		}
	}
	if seenOK == 0 {
		t.Error("no injection answered 200: the leak checks were never exercised on results")
	}
	// Positive control: b's debugger running the same hostile filter that
	// names b's data does get it, so the check above can see a leak.
	status, body := e.do(t, "b-debugger", "GET", "/api/v1/traces?since=2h&q="+url.QueryEscape(`service = "svc-project-b"`), "", nil)
	if status != 200 || !strings.Contains(body, e.traceB) {
		t.Errorf("control: b-debugger search = %d %s, want b's trace", status, clip(body))
	}
	// Attribute keys the filter language accepts cannot widen the project.
	status, body = e.do(t, "a-debugger", "GET", "/api/v1/traces/"+url.PathEscape(e.traceB+"' OR '1'='1"), "", nil)
	if status != 400 && status != 404 {
		t.Errorf("trace id injection = %d %s, want 400 or 404", status, clip(body))
	}
}
