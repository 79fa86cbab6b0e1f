package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// estimateMarker returns a function that prefixes a cell with "~" when its
// figure (an API field name) is among estimated. The error rate column is
// estimated when the error rate or the error count is.
func estimateMarker(estimated []string) func(field, cell string) string {
	return func(field, cell string) string {
		if slices.Contains(estimated, field) || (field == "error_rate" && slices.Contains(estimated, "errors")) {
			return "~" + cell
		}
		return cell
	}
}

// formatBounds prints a row's 95% bounds, "count ±52, error rate ±0.9 pts,
// ...", or "" when it has none.
func formatBounds(bounds map[string]float64) string {
	count := func(v float64) string { return group(int64(math.Round(v))) }
	fields := []struct {
		field, name string
		format      func(float64) string
	}{
		{"count", "count", count},
		{"error_rate", "error rate", func(v float64) string { return fmt.Sprintf("%.1f pts", 100*v) }},
		{"input_tokens", "in tok", count},
		{"output_tokens", "out tok", count},
		{"cost_usd", "cost", money},
	}
	var parts []string
	for _, f := range fields {
		if v, ok := bounds[f.field]; ok {
			parts = append(parts, f.name+" ±"+f.format(finite(v)))
		}
	}
	return strings.Join(parts, ", ")
}

// printEstimateFootnote explains the "~" marks, when a row has one, and
// lists the rows' 95% bounds.
func printEstimateFootnote(w io.Writer, rows []statsRow, bounded []string) error {
	if !slices.ContainsFunc(rows, func(r statsRow) bool { return len(r.Estimated) > 0 }) {
		return nil
	}
	fmt.Fprintln(w, "\n~ estimated from sampled traces, weighted by their sample weight; unmarked figures are exact.")
	if len(bounded) == 0 {
		return nil
	}
	fmt.Fprintln(w, "95% confidence bounds (±):")
	_, err := fmt.Fprintln(w, strings.Join(bounded, "\n"))
	return err
}
