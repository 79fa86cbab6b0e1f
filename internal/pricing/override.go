package pricing

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

const (
	// maxOverrideBytes bounds the size of an overrides file.
	maxOverrideBytes = 8 << 20
	// maxPriceMtok bounds a custom price (USD per million tokens), far above
	// any real one, so a typo cannot make costs overflow to infinity.
	maxPriceMtok = 1_000_000
)

// rule is one custom price from an overrides file.
type rule struct {
	provider string    // lowercased provider name as written; "" = any provider
	prov     *provider // provider resolved in the embedded table, or nil
	pattern  string    // lowercased model glob
	start    time.Time // zero = always
	price    modelPrice
}

// overrideModel is one entry of an overrides file (see the package doc).
type overrideModel struct {
	Provider       string   `json:"provider"`
	Match          string   `json:"match"`
	StartDate      string   `json:"start_date"`
	InputMtok      *float64 `json:"input_mtok"`
	CacheReadMtok  *float64 `json:"cache_read_mtok"`
	CacheWriteMtok *float64 `json:"cache_write_mtok"`
	OutputMtok     *float64 `json:"output_mtok"`
	ReasoningMtok  *float64 `json:"reasoning_mtok"`
}

// LoadOverrides returns the embedded table with the overrides file at path
// applied (see WithOverrides).
func LoadOverrides(path string) (*Table, error) {
	t, err := Default()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load price overrides: %w", err)
	}
	defer f.Close()
	ot, err := t.WithOverrides(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ot, nil
}

// WithOverrides returns a table whose custom prices, read from r in the JSON
// format of the package doc, take precedence over t's prices (embedded and
// earlier overrides). t is unchanged. An invalid file is refused with an
// error naming the problem and its position (line:column).
func (t *Table) WithOverrides(r io.Reader) (*Table, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxOverrideBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read price overrides: %w", err)
	}
	if len(data) > maxOverrideBytes {
		return nil, fmt.Errorf("price overrides: file exceeds %d bytes", maxOverrideBytes)
	}
	models, err := decodeOverrides(data)
	if err != nil {
		return nil, fmt.Errorf("price overrides: %w", err)
	}
	rules := make([]*rule, 0, len(t.rules)+len(models))
	rules = append(rules, t.rules...)
	for _, m := range models {
		r, err := t.newRule(m.model)
		if err != nil {
			return nil, fmt.Errorf("price overrides: models[%d] at %s: %w", m.index, position(data, m.offset), err)
		}
		rules = append(rules, r)
	}
	sum := sha256.Sum256(data)
	version := t.version + "+custom:" + hex.EncodeToString(sum[:])[:12]
	return &Table{
		version:    version,
		costSource: t.costSource[:len(t.costSource)-len(t.version)] + version,
		providers:  t.providers,
		byID:       t.byID,
		rules:      rules,
		cache:      newLookupCache(cacheCapacity),
	}, nil
}

// newRule validates one override entry.
func (t *Table) newRule(m overrideModel) (*rule, error) {
	r := &rule{
		provider: strings.ToLower(strings.TrimSpace(m.Provider)),
		pattern:  strings.ToLower(strings.TrimSpace(m.Match)),
	}
	if r.pattern == "" {
		return nil, errors.New(`"match" is required`)
	}
	r.prov = t.findProvider(r.provider)
	if m.StartDate != "" {
		d, err := time.Parse(time.DateOnly, m.StartDate)
		if err != nil {
			return nil, fmt.Errorf("start_date %q: want YYYY-MM-DD", m.StartDate)
		}
		r.start = d
	}
	if m.InputMtok == nil && m.OutputMtok == nil {
		return nil, errors.New(`at least one of "input_mtok" and "output_mtok" is required`)
	}
	for _, f := range [...]struct {
		name string
		v    *float64
		dst  *rate
	}{
		{"input_mtok", m.InputMtok, &r.price.input},
		{"cache_read_mtok", m.CacheReadMtok, &r.price.cacheRead},
		{"cache_write_mtok", m.CacheWriteMtok, &r.price.cacheWrite},
		{"output_mtok", m.OutputMtok, &r.price.output},
		{"reasoning_mtok", m.ReasoningMtok, &r.price.reasoning},
	} {
		if f.v == nil {
			continue
		}
		if *f.v < 0 || *f.v > maxPriceMtok || math.IsNaN(*f.v) {
			return nil, fmt.Errorf("%s %v: want a price from 0 to %g USD per million tokens", f.name, *f.v, float64(maxPriceMtok))
		}
		*f.dst = rate{set: true, base: *f.v}
	}
	return r, nil
}

// positionedModel is a decoded override entry with its place in the file.
type positionedModel struct {
	index  int
	offset int64
	model  overrideModel
}

// decodeOverrides strictly decodes {"models": [ ... ]}: no unknown fields,
// no trailing data, at least one model.
func decodeOverrides(data []byte) ([]positionedModel, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, data, '{'); err != nil {
		return nil, err
	}
	var out []positionedModel
	seen := false
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(data, err, off)
		}
		key, _ := tok.(string)
		if key != "models" {
			return nil, fmt.Errorf("at %s: unknown field %q, want \"models\"", position(data, skipSpace(data, off)), key)
		}
		if seen {
			return nil, fmt.Errorf("at %s: duplicate field \"models\"", position(data, skipSpace(data, off)))
		}
		seen = true
		if err := expectDelim(dec, data, '['); err != nil {
			return nil, err
		}
		for i := 0; dec.More(); i++ {
			start := skipSpace(data, dec.InputOffset())
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, jsonError(data, err, start)
			}
			md := json.NewDecoder(bytes.NewReader(raw))
			md.DisallowUnknownFields()
			var m overrideModel
			if err := md.Decode(&m); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return nil, fmt.Errorf("models[%d] at %s: field %q: got JSON %s, want %s",
						i, position(data, start+te.Offset), te.Field, te.Value, te.Type)
				}
				return nil, fmt.Errorf("models[%d] at %s: %s", i, position(data, start), strings.TrimPrefix(err.Error(), "json: "))
			}
			out = append(out, positionedModel{index: i, offset: start, model: m})
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, jsonError(data, err, dec.InputOffset())
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, jsonError(data, err, dec.InputOffset())
	}
	if off := skipSpace(data, dec.InputOffset()); off < int64(len(data)) {
		return nil, fmt.Errorf("at %s: unexpected data after the top-level object", position(data, off))
	}
	if len(out) == 0 {
		return nil, errors.New(`no prices: want {"models": [...]} with at least one model`)
	}
	return out, nil
}

// expectDelim reads the next token and checks it is delimiter d.
func expectDelim(dec *json.Decoder, data []byte, d json.Delim) error {
	off := skipSpace(data, dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return jsonError(data, err, off)
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("at %s: got %v, want %q", position(data, off), tok, string(d))
	}
	return nil
}

// jsonError adds a line:column position to a decoding error: the syntax
// error's own offset when it has one, else off.
func jsonError(data []byte, err error, off int64) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("at %s: unexpected end of file", position(data, int64(len(data))))
	}
	return fmt.Errorf("at %s: %s", position(data, off), strings.TrimPrefix(err.Error(), "json: "))
}

// skipSpace returns the offset of the first byte at or after off that is not
// JSON whitespace or a separating comma or colon.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// position formats byte offset off of data as "line L, column C" (1-based).
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("line %d, column %d", line, col)
}

// matchRules returns the custom rules that match the lowercased provider
// name pn (resolved to prov, nil when unknown) and any of the model name
// variants vs, in precedence order.
func (t *Table) matchRules(pn string, prov *provider, vs []string) []*rule {
	var out []*rule
	for _, r := range t.rules {
		if r.provider != "" {
			if r.prov != nil {
				if r.prov != prov {
					continue
				}
			} else if r.provider != pn {
				continue
			}
		}
		for _, v := range vs {
			if glob(r.pattern, v) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}
