package otlp

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// anyValue converts an OTLP AnyValue to a Go value: string, bool, int64,
// float64, []any or map[string]any (bytes become base64 text). It is the one
// converter every attribute, event body and log body goes through.
func anyValue(v *commonpb.AnyValue) any {
	if v == nil {
		return nil
	}
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_ArrayValue:
		vals := x.ArrayValue.GetValues()
		out := make([]any, len(vals))
		for i, e := range vals {
			out[i] = anyValue(e)
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		kvs := x.KvlistValue.GetValues()
		out := make(map[string]any, len(kvs))
		for _, kv := range kvs {
			out[kv.GetKey()] = anyValue(kv.GetValue())
		}
		return out
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	}
	return nil
}

// structured converts v to a Go value, decoding a string that holds a JSON
// object or array (SEMCONV §7.1: producers send the same content either as a
// JSON string or as a structured value).
func structured(v *commonpb.AnyValue) any {
	if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
		if x, ok := maybeJSON(s.StringValue); ok {
			return x
		}
		return s.StringValue
	}
	return anyValue(v)
}

// maybeJSON decodes s when it holds a JSON object or array.
func maybeJSON(s string) (any, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) || (s[i] != '{' && s[i] != '[') {
		return nil, false
	}
	return parseJSON(s)
}

// text renders v as text: strings as they are, anything else as JSON.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// valueText renders an attribute value as text (see text), without
// converting plain strings.
func valueText(v *commonpb.AnyValue) string {
	if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
		return s.StringValue
	}
	return text(anyValue(v))
}

// scalarString returns a scalar value as a string ("" for arrays and maps).
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// toFloat returns a numeric (or numeric string) value as float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// toInt returns a numeric (or numeric string) value as int64, truncating
// fractions.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x != x || x > 9.2e18 || x < -9.2e18 {
			return 0, false
		}
		return int64(x), true
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return toInt(f)
		}
	}
	return 0, false
}

// toBool returns a bool (or "true"/"false" string) value.
func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	case int64:
		return x != 0, true
	}
	return false, false
}

// scalar converts a scalar OTLP value to Go (nil for arrays and maps),
// without building containers.
func scalar(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	}
	return nil
}

// tooLong reports whether v holds a string or bytes value (at any depth)
// longer than max bytes.
func tooLong(v *commonpb.AnyValue, max int) bool {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return len(x.StringValue) > max
	case *commonpb.AnyValue_BytesValue:
		return len(x.BytesValue) > max
	case *commonpb.AnyValue_ArrayValue:
		for _, e := range x.ArrayValue.GetValues() {
			if tooLong(e, max) {
				return true
			}
		}
	case *commonpb.AnyValue_KvlistValue:
		for _, kv := range x.KvlistValue.GetValues() {
			if tooLong(kv.GetValue(), max) {
				return true
			}
		}
	}
	return false
}
