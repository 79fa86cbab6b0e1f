package pricing

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/loupehq/loupe"
)

// rate is a price in USD per million tokens: flat, or tiered on the total
// input size of the call.
type rate struct {
	set   bool
	base  float64
	tiers []tier // ascending by start
}

// tier is a price that applies once the call's input exceeds start tokens.
type tier struct {
	start int64
	price float64
}

// at returns the price per million tokens for a call with totalInput input
// tokens (uncached, cache read and cache write together). Tiers follow the
// schema's "cliff" model: crossing a tier's start applies the tier price to
// all tokens of the type, not only to those above the threshold.
func (r *rate) at(totalInput int64) float64 {
	for i := len(r.tiers) - 1; i >= 0; i-- {
		if totalInput > r.tiers[i].start {
			return r.tiers[i].price
		}
	}
	return r.base
}

// modelPrice is one set of prices of a model (ModelPrice in the schema),
// reduced to what loupe's usage buckets can bill.
type modelPrice struct {
	input      rate
	cacheRead  rate
	cacheWrite rate
	output     rate
	reasoning  rate
	// perRequest is the price of one call in USD (requests_kcount / 1000).
	perRequest float64
}

// cost returns the price of one call with usage u, in USD. Cache reads and
// writes fall back to the input price and reasoning to the output price when
// the model has no specific price for them.
func (p *modelPrice) cost(u loupe.Usage) float64 {
	in, cr, cw := max(u.Input, 0), max(u.CacheRead, 0), max(u.CacheWrite, 0)
	out, rs := max(u.Output, 0), max(u.Reasoning, 0)
	total := in + cr + cw

	inRate := p.input.at(total)
	crRate, cwRate := inRate, inRate
	if p.cacheRead.set {
		crRate = p.cacheRead.at(total)
	}
	if p.cacheWrite.set {
		cwRate = p.cacheWrite.at(total)
	}
	outRate := p.output.at(total)
	rsRate := outRate
	if p.reasoning.set {
		rsRate = p.reasoning.at(total)
	}
	mtok := float64(in)*inRate + float64(cr)*crRate + float64(cw)*cwRate +
		float64(out)*outRate + float64(rs)*rsRate
	return mtok/1e6 + p.perRequest
}

// constraintKind says when a conditional price applies.
type constraintKind uint8

const (
	always    constraintKind = iota
	fromDate                 // StartDateConstraint
	timeOfDay                // TimeOfDateConstraint
)

// conditionalPrice is a price with the constraint under which it applies.
type conditionalPrice struct {
	kind  constraintKind
	start time.Time // fromDate: midnight UTC of start_date
	// timeOfDay: active when startSec <= seconds since UTC midnight < endSec
	// (wrapping past midnight when startSec > endSec).
	startSec, endSec int
	price            modelPrice
}

func (c *conditionalPrice) active(at time.Time) bool {
	switch c.kind {
	case fromDate:
		return !at.Before(c.start)
	case timeOfDay:
		u := at.UTC()
		sec := u.Hour()*3600 + u.Minute()*60 + u.Second()
		if c.startSec <= c.endSec {
			return c.startSec <= sec && sec < c.endSec
		}
		return sec >= c.startSec || sec < c.endSec
	}
	return true
}

// pricesAt picks the price valid at time at: the last conditional price whose
// constraint holds, or the first one when none holds (the schema's rule).
func pricesAt(prices []conditionalPrice, at time.Time) *modelPrice {
	for i := len(prices) - 1; i >= 0; i-- {
		if prices[i].active(at) {
			return &prices[i].price
		}
	}
	return &prices[0].price
}

// parsePrices decodes a model's "prices": a ModelPrice object or a list of
// ConditionalPrice objects.
func parsePrices(raw json.RawMessage) ([]conditionalPrice, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		p, err := parseModelPrice(raw)
		if err != nil {
			return nil, err
		}
		return []conditionalPrice{{price: p}}, nil
	}
	var list []struct {
		Constraint *struct {
			StartDate string `json:"start_date"`
			StartTime string `json:"start_time"`
			EndTime   string `json:"end_time"`
		} `json:"constraint"`
		Prices json.RawMessage `json:"prices"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("prices: empty list")
	}
	out := make([]conditionalPrice, 0, len(list))
	for i, l := range list {
		p, err := parseModelPrice(l.Prices)
		if err != nil {
			return nil, fmt.Errorf("prices[%d]: %w", i, err)
		}
		c := conditionalPrice{price: p}
		switch k := l.Constraint; {
		case k == nil:
		case k.StartDate != "":
			d, err := time.Parse(time.DateOnly, k.StartDate)
			if err != nil {
				return nil, fmt.Errorf("prices[%d]: start_date: %w", i, err)
			}
			c.kind, c.start = fromDate, d
		case k.StartTime != "" && k.EndTime != "":
			c.kind = timeOfDay
			if c.startSec, err = parseTimeOfDay(k.StartTime); err != nil {
				return nil, fmt.Errorf("prices[%d]: start_time: %w", i, err)
			}
			if c.endSec, err = parseTimeOfDay(k.EndTime); err != nil {
				return nil, fmt.Errorf("prices[%d]: end_time: %w", i, err)
			}
		default:
			return nil, fmt.Errorf("prices[%d]: unsupported constraint", i)
		}
		out = append(out, c)
	}
	return out, nil
}

// parseTimeOfDay parses "15:04:05Z07:00" (or without zone, meaning UTC) into
// seconds since UTC midnight.
func parseTimeOfDay(s string) (int, error) {
	t, err := time.Parse("15:04:05Z07:00", s)
	if err != nil {
		if t, err = time.Parse(time.TimeOnly, s); err != nil {
			return 0, err
		}
	}
	_, off := t.Zone()
	sec := t.Hour()*3600 + t.Minute()*60 + t.Second() - off
	return ((sec % 86400) + 86400) % 86400, nil
}

// parseModelPrice decodes a ModelPrice object. Keys loupe cannot bill (audio,
// image, web searches, ...) are checked for shape and otherwise ignored.
func parseModelPrice(raw json.RawMessage) (modelPrice, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return modelPrice{}, fmt.Errorf("prices: %w", err)
	}
	var p modelPrice
	for k, v := range m {
		r, err := parseRate(v)
		if err != nil {
			return modelPrice{}, fmt.Errorf("%s: %w", k, err)
		}
		switch k {
		case "input_mtok":
			p.input = r
		case "cache_read_mtok":
			p.cacheRead = r
		case "cache_write_mtok":
			p.cacheWrite = r
		case "output_mtok":
			p.output = r
		case "output_reasoning_mtok":
			p.reasoning = r
		case "requests_kcount":
			if len(r.tiers) > 0 {
				return modelPrice{}, fmt.Errorf("%s: tiers not supported", k)
			}
			p.perRequest = r.base / 1000
		}
	}
	return p, nil
}

// parseRate decodes a number or a TieredPrices object {base, tiers}.
func parseRate(raw json.RawMessage) (rate, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var t struct {
			Base  *float64 `json:"base"`
			Tiers []struct {
				Start int64   `json:"start"`
				Price float64 `json:"price"`
			} `json:"tiers"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return rate{}, err
		}
		if t.Base == nil {
			return rate{}, fmt.Errorf("tiered price without base")
		}
		r := rate{set: true, base: *t.Base}
		for _, x := range t.Tiers {
			r.tiers = append(r.tiers, tier{start: x.Start, price: x.Price})
		}
		slices.SortFunc(r.tiers, func(a, b tier) int { return cmp.Compare(a.start, b.start) })
		return r, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return rate{}, err
	}
	if math.IsNaN(f) || f < 0 {
		return rate{}, fmt.Errorf("negative price %v", f)
	}
	return rate{set: true, base: f}, nil
}
