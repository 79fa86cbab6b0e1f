// Package llmhttp turns the HTTP calls of model provider clients into loupe
// model spans, as a client request middleware. Provider packages
// (openaitrace, anthropictrace) supply an Adapter that reads their API's
// JSON shapes.
package llmhttp

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	loupe "github.com/loupehq/loupe/sdk"
)

// maxBody bounds the bytes of a request or response body inspected; larger
// bodies pass through untraced in content (the span still records the call).
const maxBody = 8 << 20

// Call is what an Adapter reads from a request.
type Call struct {
	LLM       loupe.LLM
	Embedding *loupe.Embedding // set for an embeddings call instead of LLM
}

// Stream parses a server-sent event stream, one data payload at a time.
type Stream interface {
	// Data consumes one event's data.
	Data(data []byte)
	// Response returns what the stream carried so far.
	Response() (loupe.Response, error)
}

// Adapter reads one provider's API.
type Adapter struct {
	// Request describes the call of a request body to path; ok=false for
	// requests not traced (e.g. listing models).
	Request func(path string, body []byte) (c Call, ok bool)
	// Response reads a complete JSON response body.
	Response func(body []byte) (loupe.Response, error)
	// Stream returns a parser for a streamed response.
	Stream func() Stream
	// Error extracts the error type and message of an error response.
	Error func(status int, body []byte) (errorType, message string)
}

// Middleware returns a client middleware that records each HTTP attempt of
// a traced call as a model span of t (the Stainless clients call
// middleware once per attempt; X-Stainless-Retry-Count numbers them).
func Middleware(t *loupe.Tracer, a Adapter) func(*http.Request, func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	return func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		if req.Body == nil || req.Method != http.MethodPost {
			return next(req)
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		if len(body) > maxBody {
			return next(req)
		}
		c, ok := a.Request(req.URL.Path, body)
		if !ok {
			return next(req)
		}
		ctx := req.Context()
		if dl, ok := ctx.Deadline(); ok && c.Embedding == nil {
			c.LLM.Timeout = time.Until(dl).Round(time.Millisecond)
		}
		if c.Embedding != nil {
			return embed(t, a, req, next, *c.Embedding)
		}
		_, span := t.StartLLM(ctx, c.LLM)
		if n, err := strconv.Atoi(req.Header.Get("X-Stainless-Retry-Count")); err == nil && n > 0 {
			span.SetRetries(n)
		}
		resp, err := next(req)
		if err != nil {
			span.Fail(err)
			span.End()
			return resp, err
		}
		if resp.StatusCode >= 400 {
			fail(a, span.Span, resp)
			span.End()
			return resp, nil
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			resp.Body = &streamBody{rc: resp.Body, span: span, parser: a.Stream()}
			return resp, nil
		}
		b, err := readBack(resp)
		if err != nil {
			span.Fail(err)
		} else if r, err := a.Response(b); err != nil {
			span.SetError("invalid_response", err.Error())
		} else {
			span.SetResponse(r)
		}
		span.End()
		return resp, nil
	}
}

func embed(t *loupe.Tracer, a Adapter, req *http.Request, next func(*http.Request) (*http.Response, error), e loupe.Embedding) (*http.Response, error) {
	_, span := t.StartEmbedding(req.Context(), e)
	resp, err := next(req)
	if err != nil {
		span.Fail(err)
		span.End()
		return resp, err
	}
	if resp.StatusCode >= 400 {
		fail(a, span.Span, resp)
	} else if b, err := readBack(resp); err == nil {
		if r, err := a.Response(b); err == nil {
			span.SetUsage(r.Usage.Input)
		}
	}
	span.End()
	return resp, nil
}

// fail records an error response on s, keeping the body readable.
func fail(a Adapter, s loupe.Span, resp *http.Response) {
	b, _ := readBack(resp)
	et, msg := a.Error(resp.StatusCode, b)
	if et == "" {
		et = strconv.Itoa(resp.StatusCode)
	}
	if msg == "" {
		msg = resp.Status
	}
	s.SetError(et, msg)
}

// readBack reads resp's body (up to maxBody) and puts it back for the
// client.
func readBack(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), rest), rest}
	return b, err
}

// streamBody passes a server-sent event stream through to the client,
// parsing its data lines as they go by; the span ends at the stream's end
// or when the client closes it.
type streamBody struct {
	rc     io.ReadCloser
	span   loupe.LLMSpan
	parser Stream
	line   []byte
	first  bool
	once   sync.Once
	skip   bool // line longer than maxBody: not parsed
}

func (s *streamBody) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	s.feed(p[:n])
	switch {
	case err == io.EOF:
		s.finish(nil)
	case err != nil:
		s.finish(err)
	}
	return n, err
}

func (s *streamBody) Close() error {
	s.finish(nil)
	return s.rc.Close()
}

func (s *streamBody) feed(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(s.line)+len(b) > maxBody {
				s.skip = true
				s.line = s.line[:0]
			} else if !s.skip {
				s.line = append(s.line, b...)
			}
			return
		}
		if !s.skip {
			s.line = append(s.line, b[:i]...)
			s.handle(bytes.TrimRight(s.line, "\r"))
		}
		s.skip = false
		s.line = s.line[:0]
		b = b[i+1:]
	}
}

func (s *streamBody) handle(line []byte) {
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "[DONE]" {
		return
	}
	if !s.first {
		s.first = true
		s.span.FirstToken()
	}
	s.parser.Data(data)
}

func (s *streamBody) finish(err error) {
	s.once.Do(func() {
		if len(s.line) > 0 && !s.skip {
			s.handle(bytes.TrimRight(s.line, "\r"))
		}
		if r, perr := s.parser.Response(); perr == nil {
			s.span.SetResponse(r)
		} else {
			s.span.SetError("invalid_response", perr.Error())
		}
		if err != nil {
			s.span.Fail(err)
		}
		s.span.End()
	})
}
