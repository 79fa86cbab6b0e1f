package server

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// uiStatsBy are the group-by choices the stats page offers (any other
// groupable field works from the URL).
var uiStatsBy = [...]string{"prompt.version_id", "model", "tenant", "route", "environment"}

// Chart geometry, in SVG user units.
const (
	uiChartW, uiChartH  = 520, 200 // time charts
	uiPlotL, uiPlotR    = 56, 8    // margins around the plot area
	uiPlotT, uiPlotB    = 8, 22
	uiHBarW             = 520 // group charts
	uiHBarLabelW        = 170
	uiHBarRowH          = 18
	uiStatsGroupsCharts = 20 // groups drawn; the table lists up to uiStatsGroupsTable
	uiStatsGroupsTable  = 100
)

// uiTick is an axis label.
type uiTick struct {
	Pos   float64
	Label string
}

// uiBar is one vertical bar of a time chart.
type uiBar struct {
	X, Y, W, H float64
	Title      string
}

// uiDot is a point of a line, with its tooltip.
type uiDot struct {
	X, Y  float64
	Title string
}

// uiLine is one series of a line chart.
type uiLine struct {
	Class string // p50, p95, p99
	// Segments are SVG polyline points, one per run of consecutive
	// buckets: a line never bridges a bucket without traces.
	Segments []string
	Dots     []uiDot
}

// uiTimeChart is a chart over time: bars or lines.
type uiTimeChart struct {
	ID, Title, Class string
	W, H             int
	PlotL, PlotR     float64 // x range of the plot area
	PlotT, PlotB     float64 // y range
	Bars             []uiBar
	Lines            []uiLine
	YTicks, XTicks   []uiTick
}

// uiHBar is one group's bar of a group chart.
type uiHBar struct {
	Y, W         float64
	Label, Value string
	Title        string
}

// uiGroupChart is a horizontal bar chart over groups.
type uiGroupChart struct {
	ID, Title, Class string
	W, H             int
	LabelW           float64
	Bars             []uiHBar
}

// uiStatsBucket is one row of the time table.
type uiStatsBucket struct {
	Start time.Time
	Row   loupe.StatsRow
}

// uiStatsGroup is one row of the group table.
type uiStatsGroup struct {
	Value string
	Row   loupe.StatsRow
}

// uiStatsData is stats.html's data.
type uiStatsData struct {
	By, Since, Interval, Q string
	ByOpts, SinceOpts      []uiOption
	Total                  loupe.StatsRow
	Buckets                []uiStatsBucket
	Groups                 []uiStatsGroup
	MoreGroups             int
	Latency, ErrorRate     uiTimeChart
	Tokens, Cost           uiTimeChart
	GroupCharts            []uiGroupChart
	Notes                  []string
	// Estimates explains the figures marked ~ (sampling on); "" when every
	// figure is exact.
	Estimates string
	Error     string
}

// handleUIStats serves GET /stats?by=FIELD&since=24h&interval=1h&q=FILTER:
// latency percentiles, error rate, tokens and cost over time, and the same
// grouped by a field, as inline SVG charts with the numbers beside them.
func handleUIStats(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	searcher, _ := reader.(Searcher)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if searcher == nil {
			tmpl.renderError(w, r, log, errNoSearcher)
			return
		}
		v := r.URL.Query()
		d := uiStatsData{By: cmp.Or(v.Get("by"), uiStatsBy[0]), Since: cmp.Or(v.Get("since"), "24h"), Interval: v.Get("interval"), Q: v.Get("q")}
		d.SinceOpts = uiSinceOptions(d.Since, false) // no custom range here
		for _, b := range uiStatsBy {
			d.ByOpts = append(d.ByOpts, uiOption{Value: b, Label: b, Selected: b == d.By})
		}
		if !slices.Contains(uiStatsBy[:], d.By) {
			d.ByOpts = append(d.ByOpts, uiOption{Value: d.By, Label: d.By, Selected: true})
		}
		status := http.StatusOK
		overTime, grouped, notes, err := uiStatsRequests(r, d)
		var tst, gst *loupe.Stats
		if err == nil {
			var gerr error
			var wg sync.WaitGroup
			wg.Go(func() { gst, gerr = searcher.Stats(r.Context(), grouped) })
			tst, err = searcher.Stats(r.Context(), overTime)
			wg.Wait()
			err = cmp.Or(err, gerr)
		}
		if err != nil {
			if !errors.Is(err, loupe.ErrInvalid) {
				tmpl.renderError(w, r, log, fmt.Errorf("stats: %w", err))
				return
			}
			d.Error, status = err.Error(), http.StatusBadRequest
		}
		if err == nil {
			d.Interval = FormatDuration(overTime.Interval)
			t := newStatsJSON(tst, overTime, notes)
			g := newStatsJSON(gst, grouped, nil)
			d.Notes = mergeNotes(t.Notes, g.Notes)
			uiFillStats(&d, t, g, grouped.By[0], overTime)
		}
		tmpl.renderStatus(w, r, log, status, "stats.html", uiPage{Title: "Stats", Nav: "stats", Data: d})
	})
}

// uiStatsRequests builds the two stats requests of the page: over time
// (no grouping, with an interval) and grouped by d.By (no interval).
func uiStatsRequests(r *http.Request, d uiStatsData) (overTime, grouped query.StatsRequest, notes []string, err error) {
	api := url.Values{"since": {d.Since}, "q": {d.Q}, "level": {"trace"}}
	req := uiAPIRequest(r, "/api/v1/stats", api)
	base, notes, err := parseStats(req, time.Now())
	if err != nil {
		return overTime, grouped, nil, err
	}
	span := base.To.Sub(base.From)
	overTime = base
	if d.Interval != "" {
		iv, err := ParseDuration(d.Interval)
		if err != nil || iv <= 0 {
			return overTime, grouped, nil, paramError("interval", "%q is not a positive duration (e.g. 5m, 1h)", d.Interval)
		}
		if m := minInterval(span); iv < m {
			notes = append(notes, fmt.Sprintf("interval %s gives more than %d buckets; used %s", d.Interval, query.MaxBuckets, FormatDuration(m)))
			iv = m
		}
		overTime.Interval = iv
	} else {
		overTime.Interval = uiAutoInterval(span)
	}
	grouped = base
	if grouped.By, err = parseBy([]string{d.By}); err != nil {
		return overTime, grouped, nil, err
	}
	if len(grouped.By) != 1 {
		return overTime, grouped, nil, paramError("by", "give one field to group by")
	}
	return overTime, grouped, notes, nil
}

// uiAutoInterval picks a nice interval giving about 48 buckets.
func uiAutoInterval(span time.Duration) time.Duration {
	nice := [...]time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute,
		15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	for _, d := range nice {
		if span/d <= 60 {
			return d
		}
	}
	return 24 * time.Hour
}

// uiFillStats turns the two answers into tables and charts.
func uiFillStats(d *uiStatsData, t, g loupe.Stats, by query.Field, q query.StatsRequest) {
	estimated := map[string]float64{} // figure -> widest 95% bound seen
	note := func(r loupe.StatsRow) {
		for _, f := range r.Estimated {
			estimated[f] = max(estimated[f], r.ErrorBounds[f])
		}
	}
	for _, row := range t.Rows {
		note(row)
		for _, f := range row.Estimated {
			if !slices.Contains(d.Total.Estimated, f) {
				d.Total.Estimated = append(d.Total.Estimated, f)
			}
		}
		d.Buckets = append(d.Buckets, uiStatsBucket{Start: row.Bucket, Row: row})
		d.Total.Count += row.Count
		d.Total.Errors += row.Errors
		d.Total.InputTokens += row.InputTokens
		d.Total.OutputTokens += row.OutputTokens
		d.Total.CostUSD += row.CostUSD
	}
	if d.Total.Count > 0 {
		d.Total.ErrorRate = float64(d.Total.Errors) / float64(d.Total.Count)
	}
	slices.SortFunc(d.Buckets, func(a, b uiStatsBucket) int { return a.Start.Compare(b.Start) })
	for _, row := range g.Rows {
		note(row)
		d.Groups = append(d.Groups, uiStatsGroup{Value: row.Group[by.Name], Row: row})
	}
	d.Estimates = estimatesNote(estimated)
	slices.SortFunc(d.Groups, func(a, b uiStatsGroup) int {
		return cmp.Or(cmp.Compare(b.Row.Count, a.Row.Count), strings.Compare(a.Value, b.Value))
	})
	if len(d.Groups) > uiStatsGroupsTable {
		d.MoreGroups = len(d.Groups) - uiStatsGroupsTable
		d.Groups = d.Groups[:uiStatsGroupsTable]
	}

	from, to, iv := q.From, q.To, q.Interval
	d.Latency = uiLineChartOf("chart-latency", "Latency p50 / p95 / p99", d.Buckets, from, to, iv)
	d.ErrorRate = uiBarChartOf("chart-errors", "Error rate", "err", d.Buckets, from, to, iv,
		func(r loupe.StatsRow) float64 { return r.ErrorRate }, func(f float64) string { return formatPct(f) })
	d.Tokens = uiBarChartOf("chart-tokens", "Tokens (input + output)", "", d.Buckets, from, to, iv,
		func(r loupe.StatsRow) float64 { return float64(r.InputTokens + r.OutputTokens) }, func(f float64) string { return formatInt(int64(f)) })
	d.Cost = uiBarChartOf("chart-cost", "Cost", "cost", d.Buckets, from, to, iv,
		func(r loupe.StatsRow) float64 { return r.CostUSD }, formatUSD)

	groups := d.Groups[:min(len(d.Groups), uiStatsGroupsCharts)]
	d.GroupCharts = []uiGroupChart{
		uiGroupChartOf("group-count", "Traces by "+by.String(), "", groups, func(r loupe.StatsRow) float64 { return float64(r.Count) }, func(f float64) string { return formatInt(int64(f)) }),
		uiGroupChartOf("group-p95", "p95 latency by "+by.String(), "", groups, func(r loupe.StatsRow) float64 { return r.P95Ms }, formatMs),
		uiGroupChartOf("group-errors", "Error rate by "+by.String(), "err", groups, func(r loupe.StatsRow) float64 { return r.ErrorRate }, formatPct),
		uiGroupChartOf("group-cost", "Cost by "+by.String(), "cost", groups, func(r loupe.StatsRow) float64 { return r.CostUSD }, formatUSD),
	}
}

// uiTimeFrame is the common frame of the time charts.
func uiTimeFrame(id, title string, from, to time.Time, iv time.Duration) uiTimeChart {
	c := uiTimeChart{ID: id, Title: title, W: uiChartW, H: uiChartH,
		PlotL: uiPlotL, PlotR: uiChartW - uiPlotR, PlotT: uiPlotT, PlotB: uiChartH - uiPlotB}
	// Five time labels across the axis.
	layout := "15:04"
	if to.Sub(from) > 48*time.Hour {
		layout = "01-02"
	} else if iv < time.Minute {
		layout = "15:04:05"
	}
	for i := range 5 {
		ts := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		c.XTicks = append(c.XTicks, uiTick{Pos: c.x(ts, from, to), Label: ts.UTC().Format(layout)})
	}
	return c
}

func (c *uiTimeChart) x(ts, from, to time.Time) float64 {
	span := to.Sub(from)
	if span <= 0 {
		return c.PlotL
	}
	f := float64(ts.Sub(from)) / float64(span)
	return round1(c.PlotL + min(max(f, 0), 1)*(c.PlotR-c.PlotL))
}

func (c *uiTimeChart) y(v, top float64) float64 {
	if top <= 0 || math.IsNaN(v) {
		return c.PlotB
	}
	return round1(c.PlotB - min(max(v/top, 0), 1)*(c.PlotB-c.PlotT))
}

// yTicks labels 0, top/2 and top.
func (c *uiTimeChart) yTicks(top float64, format func(float64) string) {
	for _, f := range []float64{0, 0.5, 1} {
		c.YTicks = append(c.YTicks, uiTick{Pos: c.y(top*f, top), Label: format(top * f)})
	}
}

// niceTop rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceTop(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func uiLineChartOf(id, title string, buckets []uiStatsBucket, from, to time.Time, iv time.Duration) uiTimeChart {
	c := uiTimeFrame(id, title, from, to, iv)
	top := 0.0
	for _, b := range buckets {
		top = max(top, b.Row.P99Ms, b.Row.P95Ms, b.Row.P50Ms)
	}
	top = niceTop(top)
	c.yTicks(top, formatMs)
	series := []struct {
		class string
		get   func(loupe.StatsRow) float64
	}{{"p50", func(r loupe.StatsRow) float64 { return r.P50Ms }}, {"p95", func(r loupe.StatsRow) float64 { return r.P95Ms }},
		{"p99", func(r loupe.StatsRow) float64 { return r.P99Ms }}}
	for _, s := range series {
		l := uiLine{Class: s.class}
		var pts []string
		for i, b := range buckets {
			if i > 0 && b.Start.Sub(buckets[i-1].Start) > iv {
				l.Segments = append(l.Segments, strings.Join(pts, " "))
				pts = pts[:0]
			}
			x := c.x(b.Start.Add(iv/2), from, to)
			y := c.y(s.get(b.Row), top)
			pts = append(pts, strconv.FormatFloat(x, 'f', -1, 64)+","+strconv.FormatFloat(y, 'f', -1, 64))
			l.Dots = append(l.Dots, uiDot{X: x, Y: y, Title: fmt.Sprintf("%s %s: %s (%s traces)",
				b.Start.UTC().Format("2006-01-02 15:04"), s.class, formatMs(s.get(b.Row)), formatInt(b.Row.Count))})
		}
		if len(pts) > 0 {
			l.Segments = append(l.Segments, strings.Join(pts, " "))
		}
		c.Lines = append(c.Lines, l)
	}
	return c
}

func uiBarChartOf(id, title, class string, buckets []uiStatsBucket, from, to time.Time, iv time.Duration,
	get func(loupe.StatsRow) float64, format func(float64) string) uiTimeChart {
	c := uiTimeFrame(id, title, from, to, iv)
	c.Class = class
	top := 0.0
	for _, b := range buckets {
		top = max(top, get(b.Row))
	}
	top = niceTop(top)
	c.yTicks(top, format)
	for _, b := range buckets {
		x0, x1 := c.x(b.Start, from, to), c.x(b.Start.Add(iv), from, to)
		y := c.y(get(b.Row), top)
		c.Bars = append(c.Bars, uiBar{X: x0, Y: y, W: round1(max(x1-x0-1, 1)), H: round1(c.PlotB - y),
			Title: fmt.Sprintf("%s: %s (%s traces)", b.Start.UTC().Format("2006-01-02 15:04"), format(get(b.Row)), formatInt(b.Row.Count))})
	}
	return c
}

func uiGroupChartOf(id, title, class string, groups []uiStatsGroup, get func(loupe.StatsRow) float64, format func(float64) string) uiGroupChart {
	c := uiGroupChart{ID: id, Title: title, Class: class, W: uiHBarW, H: max(len(groups), 1)*uiHBarRowH + 4, LabelW: uiHBarLabelW}
	top := 0.0
	for _, g := range groups {
		top = max(top, get(g.Row))
	}
	barMax := float64(uiHBarW - uiHBarLabelW - 80)
	for i, g := range groups {
		v := get(g.Row)
		w := 0.0
		if top > 0 {
			w = round1(max(v/top*barMax, 1))
		}
		label := visibleText(cmp.Or(g.Value, "(none)"))
		short := label
		if utf8Len := len([]rune(short)); utf8Len > 26 {
			short = string([]rune(short)[:25]) + "…"
		}
		c.Bars = append(c.Bars, uiHBar{Y: float64(i*uiHBarRowH + 2), W: w, Label: short, Value: format(v),
			Title: label + ": " + format(v) + " (" + formatInt(g.Row.Count) + " traces)"})
	}
	return c
}

// estimatesNote explains the figures marked ~: sampling kept only some
// traces, so these are weighted estimates, with the widest 95% bound of
// each where the store gave one.
func estimatesNote(est map[string]float64) string {
	if len(est) == 0 {
		return ""
	}
	fields := slices.Sorted(maps.Keys(est))
	var b strings.Builder
	b.WriteString("Sampling is on: figures marked ~ are estimates from the kept traces, weighted by their sample rate (")
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f)
		if w := est[f]; w > 0 {
			fmt.Fprintf(&b, " ±%.4g", w)
		}
	}
	b.WriteString(", 95% bounds). Unmarked figures are exact counts taken before sampling.")
	return b.String()
}
