package otlp

import (
	"strings"

	"github.com/loupehq/loupe"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// docsFrom is docsFromList(structured(v)), taking the direct path (no
// generic value tree) when v is a string holding a JSON list of plain
// documents; see msgjson.go for the contract of direct paths.
func (sc *scratch) docsFrom(v *commonpb.AnyValue) []docEntry {
	if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
		if docs, ok := sc.mp.docs(s.StringValue); ok {
			return docs
		}
	}
	return docsFromList(structured(v))
}

// docFields are the members of a document object the direct path reads.
type docFields struct {
	id, documentID, docID, score, tokens, content, text, document, pageContent field
}

// docs parses a JSON list of documents (docsFromList of the parsed list).
// Documents with a distance or metadata take the generic path.
func (mp *msgParser) docs(s string) ([]docEntry, bool) {
	mp.jsonParser = jsonParser{s: s}
	if !mp.at('[') {
		return nil, false
	}
	out := make([]docEntry, 0, 8)
	ok := mp.elements(1, func() bool {
		switch mp.s[mp.i] {
		case '"':
			s, ok := mp.strRaw()
			out = append(out, docEntry{doc: loupe.Document{ID: s}})
			return ok
		case '{':
		default:
			return mp.skipValue(1)
		}
		var f docFields
		ok := mp.members(2, func(k string) bool {
			var dst *field
			switch k {
			case "id":
				dst = &f.id
			case "document_id":
				dst = &f.documentID
			case "doc_id":
				dst = &f.docID
			case "score":
				dst = &f.score
			case "tokens":
				dst = &f.tokens
			case "content":
				dst = &f.content
			case "text":
				dst = &f.text
			case "document":
				dst = &f.document
			case "page_content":
				dst = &f.pageContent
			case "distance", "metadata":
				return false
			default:
				return mp.skipValue(2)
			}
			return mp.read(dst, 2)
		})
		if ok {
			out = append(out, f.entry(mp))
		}
		return ok
	})
	if !ok || !mp.end() {
		return nil, false
	}
	return out, true
}

// entry is docOf of the document (which has no distance or metadata).
func (f *docFields) entry(mp *msgParser) docEntry {
	var d docEntry
	for _, id := range []*field{&f.id, &f.documentID, &f.docID} {
		if d.doc.ID = id.str(); d.doc.ID != "" {
			break
		}
	}
	if s, ok := toFloat(f.score.scalar()); ok {
		d.doc.Score = ref(s)
	}
	d.doc.Tokens, _ = toInt(f.tokens.scalar())
	for _, c := range []*field{&f.content, &f.text, &f.document, &f.pageContent} {
		if !c.null() {
			d.text.Content = c.text(mp)
			break
		}
	}
	return d
}

// scalar is the generic value of a scalar member (nil for absent, null,
// objects and arrays).
func (f *field) scalar() any {
	switch {
	case f.isStr:
		return f.s
	case !f.set || strings.IndexByte("{[n", f.raw[0]) >= 0:
		return nil
	}
	v, _ := parseJSON(f.raw)
	return v
}
