package loupe

import "fmt"

// Validate reports why a span cannot be stored: a zero trace or span id, or
// an end before its start. The error wraps ErrInvalid.
func (s *Span) Validate() error {
	switch {
	case s.TraceID.IsZero():
		return fmt.Errorf("%w: trace id is empty or all zeros", ErrInvalid)
	case s.SpanID.IsZero():
		return fmt.Errorf("%w: span id is empty or all zeros", ErrInvalid)
	case s.Start.IsZero():
		return fmt.Errorf("%w: span %s has no start time", ErrInvalid, s.SpanID)
	case s.End.Before(s.Start):
		return fmt.Errorf("%w: span %s ends before it starts", ErrInvalid, s.SpanID)
	case !s.Kind.Valid():
		return fmt.Errorf("%w: span %s has unknown kind %q", ErrInvalid, s.SpanID, s.Kind)
	}
	return nil
}
