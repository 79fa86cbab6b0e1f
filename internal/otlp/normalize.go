package otlp

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/loupehq/loupe"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Options configures a Normalizer. The zero value is usable.
type Options struct {
	// MaxAttributeBytes rejects a span (or log record) having any
	// attribute/body string value longer than this. 0 means 1 MiB.
	MaxAttributeBytes int
	// Price, when set, is called on every normalized span after
	// normalization (cost computation). May be nil.
	Price func(*loupe.Span)
}

// Normalizer turns OTLP spans and log records into loupe's canonical model,
// whatever semantic convention the producer followed (shared/SEMCONV.md).
// It is safe for concurrent use.
type Normalizer struct {
	maxAttr int
	price   func(*loupe.Span)
	keys    map[string]attrKey // immutable after NewNormalizer
	scratch sync.Pool          // *scratch, reused across requests
}

// NewNormalizer returns a Normalizer configured by opts.
func NewNormalizer(opts Options) *Normalizer {
	n := &Normalizer{
		maxAttr: opts.MaxAttributeBytes,
		price:   opts.Price,
		keys:    make(map[string]attrKey, numKeys),
	}
	if n.maxAttr <= 0 {
		n.maxAttr = 1 << 20
	}
	for k := attrKey(1); k < numKeys; k++ {
		n.keys[keyNames[k]] = k
	}
	n.scratch.New = func() any { return new(scratch) }
	return n
}

// Rejection reports spans or log records refused in a request, for OTLP
// partial_success.
type Rejection struct {
	Count   int64  // number of spans (or log records) rejected
	Message string // the first few problems; "" when Count is 0
}

// maxReasons bounds how many problems a Rejection names.
const maxReasons = 3

// rejector accumulates a Rejection.
type rejector struct {
	what    string // "span" or "log record"
	count   int64
	reasons []string
}

func (r *rejector) add(label, reason string) {
	r.count++
	if len(r.reasons) < maxReasons {
		r.reasons = append(r.reasons, label+": "+reason)
	}
}

func (r *rejector) result() Rejection {
	if r.count == 0 {
		return Rejection{}
	}
	what := r.what + "s"
	if r.count == 1 {
		what = r.what
	}
	msg := fmt.Sprintf("%d %s rejected: %s", r.count, what, strings.Join(r.reasons, "; "))
	if r.count > int64(len(r.reasons)) {
		msg += "; ..."
	}
	return Rejection{Count: r.count, Message: msg}
}

// Family markers: attributes whose keys carry an index (flattened lists),
// collected by a prefix rather than the key table.
const (
	famInMsgs     = numKeys + iota // llm.input_messages.N.*
	famOutMsgs                     // llm.output_messages.N.*
	famPromptN                     // gen_ai.prompt.N.*
	famComplN                      // gen_ai.completion.N.*
	famDocs                        // retrieval.documents.N.*
	famRerankDocs                  // reranker.output_documents.N.*
	famLLMPrompts                  // llm.prompts.N.*
	famLLMChoices                  // llm.choices.N.*
	famEmbeddings                  // embedding.embeddings.N.*
	famEnd
)

const numFam = famEnd - famInMsgs

// famPrefixes maps each family to its key prefix (index follows it).
func famPrefix(f attrKey) string {
	switch f {
	case famInMsgs:
		return "llm.input_messages."
	case famOutMsgs:
		return "llm.output_messages."
	case famPromptN:
		return "gen_ai.prompt."
	case famComplN:
		return "gen_ai.completion."
	case famDocs:
		return "retrieval.documents."
	case famRerankDocs:
		return "reranker.output_documents."
	case famLLMPrompts:
		return "llm.prompts."
	case famLLMChoices:
		return "llm.choices."
	case famEmbeddings:
		return "embedding.embeddings."
	}
	return ""
}

// lookup classifies an attribute key: a table key, a family, or kNone.
func (n *Normalizer) lookup(key string) attrKey {
	if k, ok := n.keys[key]; ok {
		return k
	}
	if len(key) < 12 {
		return kNone
	}
	switch key[0] {
	case 'l', 'g', 'r', 'e':
		for f := famInMsgs; f < famEnd; f++ {
			p := famPrefix(f)
			if strings.HasPrefix(key, p) && len(key) > len(p) && key[len(p)] >= '0' && key[len(p)] <= '9' {
				return f
			}
		}
	}
	return kNone
}

// slots holds one span's attribute values by key: resource values first,
// overridden by the span's own.
type slots struct {
	v    [numKeys]*commonpb.AnyValue
	res  [numKeys]bool // v[k] is a resource attribute
	used [numKeys]bool // v[k] was consumed into a field or the payload
	fam  [numFam]int   // attributes per family
}

// scratch is per-request working memory.
type scratch struct {
	res      slots // resource attributes of the current resource
	sl       slots
	spanKeys []attrKey
	resKeys  []attrKey
	idx      []indexed
	mp       msgParser
	resLeft  []resLeftover // per resource attribute of the current resource
}

// Traces normalizes every valid span of req, appending to dst (dst may be
// nil), for the given project. Invalid spans are skipped and counted in the
// Rejection; the rest are kept.
func (n *Normalizer) Traces(project string, req *coltracepb.ExportTraceServiceRequest, dst []loupe.Span) ([]loupe.Span, Rejection) {
	if project == "" {
		project = loupe.DefaultProject
	}
	rej := rejector{what: "span"}
	sc := n.scratch.Get().(*scratch)
	defer n.scratch.Put(sc)
	ordinal := 0
	for _, rs := range req.GetResourceSpans() {
		resAttrs := rs.GetResource().GetAttributes()
		sc.resKeys = sc.resKeys[:0]
		sc.res = slots{}
		clear(sc.resLeft)
		sc.resLeft = append(sc.resLeft[:0], make([]resLeftover, len(resAttrs))...)
		resTooLong := ""
		for _, kv := range resAttrs {
			k := n.lookup(kv.GetKey())
			if k >= numKeys {
				k = kNone // families are span-level only
			}
			sc.resKeys = append(sc.resKeys, k)
			if k != kNone && sc.res.v[k] == nil {
				sc.res.v[k] = kv.GetValue()
				sc.res.res[k] = true
			}
			if resTooLong == "" && tooLong(kv.GetValue(), n.maxAttr) {
				resTooLong = fmt.Sprintf("resource attribute %s longer than %d bytes", kv.GetKey(), n.maxAttr)
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				i := ordinal
				ordinal++
				reason := n.check(s)
				if reason == "" && resTooLong != "" {
					reason = resTooLong
				}
				if reason != "" {
					rej.add(spanLabel(s, i), reason)
					continue
				}
				dst = append(dst, loupe.Span{})
				out := &dst[len(dst)-1]
				if reason := n.span(sc, project, resAttrs, s, out); reason != "" {
					dst = dst[:len(dst)-1]
					rej.add(spanLabel(s, i), reason)
					continue
				}
				if n.price != nil {
					n.price(out)
				}
			}
		}
	}
	return dst, rej.result()
}

// spanLabel names span s (the i-th of the request) in a rejection message.
// It is made only for rejected spans.
func spanLabel(s *tracepb.Span, i int) string {
	tid, sid := s.GetTraceId(), s.GetSpanId()
	if len(tid) == 16 && len(sid) == 8 {
		return "span " + hex.EncodeToString(tid[:8]) + "/" + hex.EncodeToString(sid)
	}
	return fmt.Sprintf("span #%d", i)
}

// check validates a span's ids and times. It returns the reason, "" when
// valid.
func (n *Normalizer) check(s *tracepb.Span) string {
	tid, sid := s.GetTraceId(), s.GetSpanId()
	switch {
	case len(tid) != 16:
		return fmt.Sprintf("trace id must be 16 bytes, got %d", len(tid))
	case len(sid) != 8:
		return fmt.Sprintf("span id must be 8 bytes, got %d", len(sid))
	case isZero(tid):
		return "trace id is all zeros"
	case isZero(sid):
		return "span id is all zeros"
	case len(s.GetParentSpanId()) != 0 && len(s.GetParentSpanId()) != 8:
		return fmt.Sprintf("parent span id must be 8 bytes, got %d", len(s.GetParentSpanId()))
	case s.GetStartTimeUnixNano() == 0:
		return "missing start time"
	case s.GetEndTimeUnixNano() < s.GetStartTimeUnixNano():
		return "ends before it starts"
	}
	return ""
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// unixNano converts OTLP nanoseconds to a UTC time.
func unixNano(ns uint64) time.Time {
	if ns > 1<<63-1 {
		ns = 1<<63 - 1
	}
	return time.Unix(0, int64(ns)).UTC()
}

var otelKinds = [...]string{"", "internal", "server", "client", "producer", "consumer"}

// span normalizes one valid span into out; it returns a rejection reason
// when an attribute is too long.
func (n *Normalizer) span(sc *scratch, project string, resAttrs []*commonpb.KeyValue, s *tracepb.Span, out *loupe.Span) string {
	attrs := s.GetAttributes()
	sc.sl = sc.res
	sc.spanKeys = sc.spanKeys[:0]
	for _, kv := range attrs {
		v := kv.GetValue()
		if tooLong(v, n.maxAttr) {
			return fmt.Sprintf("attribute %s longer than %d bytes", kv.GetKey(), n.maxAttr)
		}
		k := n.lookup(kv.GetKey())
		sc.spanKeys = append(sc.spanKeys, k)
		switch {
		case k >= numKeys:
			sc.sl.fam[k-numKeys]++
		case k != kNone && (sc.sl.v[k] == nil || sc.sl.res[k]):
			sc.sl.v[k] = v
			sc.sl.res[k] = false
		}
	}
	for _, e := range s.GetEvents() {
		for _, kv := range e.GetAttributes() {
			if tooLong(kv.GetValue(), n.maxAttr) {
				return fmt.Sprintf("event %s attribute %s longer than %d bytes", e.GetName(), kv.GetKey(), n.maxAttr)
			}
		}
	}

	copy(out.TraceID[:], s.GetTraceId())
	copy(out.SpanID[:], s.GetSpanId())
	copy(out.ParentSpanID[:], s.GetParentSpanId())
	out.Project = project
	out.Name = s.GetName()
	if k := int(s.GetKind()); k > 0 && k < len(otelKinds) {
		out.OTelKind = otelKinds[k]
	}
	out.Start = unixNano(s.GetStartTimeUnixNano())
	out.End = unixNano(s.GetEndTimeUnixNano())
	switch s.GetStatus().GetCode() {
	case tracepb.Status_STATUS_CODE_OK:
		out.Status = loupe.StatusOK
	case tracepb.Status_STATUS_CODE_ERROR:
		out.Status = loupe.StatusError
	default:
		out.Status = loupe.StatusUnset
	}
	out.StatusMessage = s.GetStatus().GetMessage()

	c := spanCtx{n: n, sl: &sc.sl, attrs: attrs, keys: sc.spanKeys, sc: sc, out: out}
	c.normalize(s)
	out.Attributes = c.leftovers(resAttrs, sc.resKeys)
	return ""
}

// spanCtx is the state of normalizing one span.
type spanCtx struct {
	n     *Normalizer
	sl    *slots
	sc    *scratch
	attrs []*commonpb.KeyValue
	keys  []attrKey // attrKey of each of attrs
	out   *loupe.Span
	p     loupe.Payload

	eventDocs []map[string]any // attributes of db.query.result events
}

// val returns the value of k without consuming it.
func (c *spanCtx) val(k attrKey) *commonpb.AnyValue { return c.sl.v[k] }

// has reports whether k is set.
func (c *spanCtx) has(k attrKey) bool { return c.sl.v[k] != nil }

// take returns the value of k and marks it consumed.
func (c *spanCtx) take(k attrKey) *commonpb.AnyValue {
	v := c.sl.v[k]
	if v != nil {
		c.sl.used[k] = true
	}
	return v
}

// peekStr returns the first non-empty scalar of keys as a string without
// consuming it.
func (c *spanCtx) peekStr(keys ...attrKey) string {
	for _, k := range keys {
		if s, ok := scalarString(scalar(c.sl.v[k])); ok {
			return s
		}
	}
	return ""
}

// str returns the first non-empty scalar of keys as a string, consuming it
// and the later keys that repeat the same value (producers often send one
// value under several conventions' names).
func (c *spanCtx) str(keys ...attrKey) string {
	for i, k := range keys {
		if s, ok := scalarString(scalar(c.sl.v[k])); ok {
			c.sl.used[k] = true
			for _, k2 := range keys[i+1:] {
				if c.sl.v[k2] != nil {
					if s2, _ := scalarString(scalar(c.sl.v[k2])); s2 == s {
						c.sl.used[k2] = true
					}
				}
			}
			return s
		}
	}
	return ""
}

// int returns the first integer among keys, consuming it and the later keys
// that repeat the same value.
func (c *spanCtx) int(keys ...attrKey) (int64, bool) {
	for i, k := range keys {
		if v, ok := toInt(scalar(c.sl.v[k])); ok {
			c.sl.used[k] = true
			for _, k2 := range keys[i+1:] {
				if c.sl.v[k2] != nil {
					if v2, ok := toInt(scalar(c.sl.v[k2])); ok && v2 == v {
						c.sl.used[k2] = true
					}
				}
			}
			return v, true
		}
	}
	return 0, false
}

// float returns the first number among keys, consuming it.
func (c *spanCtx) float(keys ...attrKey) (float64, bool) {
	for _, k := range keys {
		if v, ok := toFloat(scalar(c.sl.v[k])); ok {
			c.sl.used[k] = true
			return v, true
		}
	}
	return 0, false
}

// object returns k decoded as a JSON object (or kvlist), consuming it.
func (c *spanCtx) object(k attrKey) map[string]any {
	v := c.sl.v[k]
	if v == nil {
		return nil
	}
	m, ok := structured(v).(map[string]any)
	if !ok {
		return nil
	}
	c.sl.used[k] = true
	return m
}

// body returns k as payload text (structured values become JSON),
// consuming it.
func (c *spanCtx) body(k attrKey) string {
	v := c.take(k)
	if v == nil {
		return ""
	}
	return valueText(v)
}

// leftovers returns every attribute not consumed, resource ones prefixed
// "resource.".
func (c *spanCtx) leftovers(resAttrs []*commonpb.KeyValue, resKeys []attrKey) map[string]any {
	// Size the map exactly: an over-sized hint costs a bigger table.
	n := 0
	for i, kv := range c.attrs {
		if c.spanLeft(i, kv) {
			n++
		}
	}
	for i, kv := range resAttrs {
		if c.resLeft(resKeys[i], kv) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	m := make(map[string]any, n)
	for i, kv := range c.attrs {
		if c.spanLeft(i, kv) {
			m[kv.GetKey()] = anyValue(kv.GetValue())
		}
	}
	for i, kv := range resAttrs {
		if c.resLeft(resKeys[i], kv) {
			name, v := c.sc.resLeftover(i, kv)
			m[name] = v
		}
	}
	return m
}

// spanLeft reports whether span attribute i is a leftover.
func (c *spanCtx) spanLeft(i int, kv *commonpb.KeyValue) bool {
	k := c.keys[i]
	return !(k >= numKeys || (k != kNone && c.sl.used[k] && !c.sl.res[k] && c.sl.v[k] == kv.GetValue()))
}

// resLeft reports whether the resource attribute kv (key k) is a leftover.
func (c *spanCtx) resLeft(k attrKey, kv *commonpb.KeyValue) bool {
	return !(k != kNone && c.sl.used[k] && c.sl.res[k] && c.sl.v[k] == kv.GetValue())
}

// resLeftover returns the leftover name and value of resource attribute i
// of the current resource. They are the same for every span of the
// resource, so they are made once; only immutable values (scalars) are
// shared between spans, containers are converted for each span.
func (sc *scratch) resLeftover(i int, kv *commonpb.KeyValue) (string, any) {
	r := &sc.resLeft[i]
	if !r.done {
		r.done = true
		r.name = "resource." + kv.GetKey()
		switch kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_ArrayValue, *commonpb.AnyValue_KvlistValue:
		default:
			r.val, r.shared = anyValue(kv.GetValue()), true
		}
	}
	if !r.shared {
		return r.name, anyValue(kv.GetValue())
	}
	return r.name, r.val
}

// resLeftover is a resource attribute as a leftover (scratch.resLeftover).
type resLeftover struct {
	done   bool
	shared bool // val is immutable: the same for every span
	name   string
	val    any
}

// normalize maps the span's attributes and events into c.out.
func (c *spanCtx) normalize(s *tracepb.Span) {
	out := c.out
	out.Kind = c.kind(s.GetName(), out.ParentSpanID.IsZero())

	out.Service = c.str(kService)
	out.Environment = c.str(kLfEnv, kEnvName, kEnvOld, kAppEnv)
	out.DeploymentID = c.str(kLoupeDeploy, kDeployID, kLfRelease, kLfVersion, kServiceVersion)
	out.Tenant = c.str(kLoupeTenant, kAppTenant, kTenantID)
	out.Route = c.str(kLoupeRoute, kAppRoute, kHTTPRoute)
	out.SessionID = c.str(kLfSession, kSessionID, kConversation, kTLSession, kAIMetaSession, kAICtxSession)
	out.UserID = c.str(kLfUser, kUserID, kUserIDHash, kEndUser, kTLUser, kGenAIUser, kLLMUser, kAIMetaUser, kAICtxUser)

	out.PromptName = c.str(kLoupePromptName, kPromptName, kLfObsPromptName, kLfPromptName, kGenAIPromptName, kTLPromptKey)
	out.PromptVersionID = c.str(kLoupePromptVersion, kPromptVersionID, kPromptVersion, kLfObsPromptVersion, kLfPromptVersion,
		kGenAIPromptVersion, kOITemplateVersion, kTLPromptVersion, kTLPromptHash)
	if lp := c.object(kAIMetaLfPrompt); lp != nil {
		if out.PromptName == "" {
			out.PromptName, _ = scalarString(lp["name"])
		}
		if out.PromptVersionID == "" {
			out.PromptVersionID, _ = scalarString(lp["version"])
		}
	}
	out.ReleaseLabel = c.str(kLoupeRelease, kPromptRelease, kTLPromptVersionName)

	out.Provider = c.provider()
	out.RequestModel = c.str(kLfModel, kReqModel, kLLMReqModel, kLLMModel, kAIModelID, kModelName, kEmbModel, kRerankModel)
	out.ResponseModel = c.str(kRespModel, kLLMRespModel, kAIRespModel)
	c.params()
	out.Usage = c.usage()
	c.cost()
	c.finishReason()

	// Errors and status.
	if lvl := c.peekStr(kStatusLevel); strings.EqualFold(lvl, "ERROR") {
		c.str(kStatusLevel)
		out.Status = loupe.StatusError
	}
	if out.StatusMessage == "" {
		out.StatusMessage = c.str(kLfStatusMsg, kToolErrorMsg)
	}
	out.ErrorType = c.str(kErrorType, kToolErrorCode)

	// Tools.
	if out.Kind == loupe.KindTool {
		out.ToolName = c.str(kToolName, kOIToolName, kAIToolName, kTLEntityName)
	} else {
		out.ToolName = c.str(kToolName, kOIToolName, kAIToolName)
	}
	c.p.ToolArguments = c.firstBody(kToolArgs, kToolArgsRedacted, kAIToolArgs)
	c.p.ToolResult = c.firstBody(kToolResult, kAIToolResult)

	// Retrieval.
	out.RetrievalIndex = c.str(kDataSource, kRetrievalIndex, kDBCollection)
	c.p.Query = c.firstBody(kRetrievalQuery, kRerankQuery)

	c.messages()
	c.events(s)
	c.genericIO()
	c.documents()

	if !c.p.IsZero() {
		p := c.p
		out.Payload = &p
	}
}

// firstBody returns the first present key as payload text, consuming every
// present key (the losers duplicate the winner).
func (c *spanCtx) firstBody(keys ...attrKey) string {
	s := ""
	for _, k := range keys {
		if b := c.body(k); s == "" {
			s = b
		}
	}
	return s
}
