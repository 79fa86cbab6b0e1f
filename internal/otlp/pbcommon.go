package otlp

import (
	"math"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// The messages of common.proto (KeyValue, AnyValue, ArrayValue,
// KeyValueList) for the protobuf decoder of pbtrace.go. They nest, so each
// checks its depth against maxPBDepth.

// keyValueField decodes the KeyValue at depth that is the value of field
// num of msg.
func (d *pbDecoder) keyValueField(b *[]byte, msg string, num protowire.Number, depth int) (*commonpb.KeyValue, error) {
	v, err := readBytes(b, msg, num)
	if err != nil {
		return nil, err
	}
	kv := d.kvs.new()
	if err := d.keyValue(v, kv, depth); err != nil {
		return nil, err
	}
	return kv, nil
}

// keyValue decodes a KeyValue at the given depth.
func (d *pbDecoder) keyValue(b []byte, kv *commonpb.KeyValue, depth int) error {
	const msg = "KeyValue"
	if depth > maxPBDepth {
		return tooDeep(msg)
	}
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fKVKey && typ == wLen:
			if kv.Key, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		case num == fKVValue && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			if kv.Value == nil {
				kv.Value = d.anys.new()
			}
			if err := d.anyValue(v, kv.Value, depth+1); err != nil {
				return err
			}
		case num == fKVKeyStrindex && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			kv.KeyStrindex = int32(v)
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// anyValue decodes an AnyValue at the given depth. The oneof keeps the last
// member; a message member (array, key-value list) seen again while it is
// the current one is merged, as proto does.
func (d *pbDecoder) anyValue(b []byte, a *commonpb.AnyValue, depth int) error {
	const msg = "AnyValue"
	if depth > maxPBDepth {
		return tooDeep(msg)
	}
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fAnyString && typ == wLen:
			s, err := d.readString(&b, msg, num)
			if err != nil {
				return err
			}
			w := d.strVals.new()
			w.StringValue = s
			a.Value = w
		case num == fAnyInt && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			w := d.intVals.new()
			w.IntValue = int64(v)
			a.Value = w
		case num == fAnyBool && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			a.Value = &commonpb.AnyValue_BoolValue{BoolValue: v != 0}
		case num == fAnyDouble && typ == wI64:
			v, err := readFixed64(&b, msg, num)
			if err != nil {
				return err
			}
			a.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: math.Float64frombits(v)}
		case num == fAnyBytes && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			// proto gives a oneof bytes member a non-nil slice even when empty.
			a.Value = &commonpb.AnyValue_BytesValue{BytesValue: append([]byte{}, v...)}
		case num == fAnyStringStrindex && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			a.Value = &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: int32(v)}
		case num == fAnyArray && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			w, ok := a.Value.(*commonpb.AnyValue_ArrayValue)
			if !ok {
				w = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}
			}
			if err := d.arrayValue(v, w.ArrayValue, depth+1); err != nil {
				return err
			}
			a.Value = w
		case num == fAnyKvlist && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			w, ok := a.Value.(*commonpb.AnyValue_KvlistValue)
			if !ok {
				w = &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{}}
			}
			if err := d.keyValueList(v, w.KvlistValue, depth+1); err != nil {
				return err
			}
			a.Value = w
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// arrayValue decodes an ArrayValue at the given depth.
func (d *pbDecoder) arrayValue(b []byte, arr *commonpb.ArrayValue, depth int) error {
	const msg = "ArrayValue"
	if depth > maxPBDepth {
		return tooDeep(msg)
	}
	n := countField(b, fArrayValues)
	values := d.anyPtrs.carve(arr.Values, n)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		if num == fArrayValues && typ == wLen {
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			a := d.anys.new()
			if err := d.anyValue(v, a, depth+1); err != nil {
				return err
			}
			values = append(values, a)
			continue
		}
		if err := skip(&b, msg, num, typ); err != nil {
			return err
		}
	}
	arr.Values = values
	return nil
}

// keyValueList decodes a KeyValueList at the given depth.
func (d *pbDecoder) keyValueList(b []byte, l *commonpb.KeyValueList, depth int) error {
	const msg = "KeyValueList"
	if depth > maxPBDepth {
		return tooDeep(msg)
	}
	n := countField(b, fKeyValueListValues)
	values := d.kvPtrs.carve(l.Values, n)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		if num == fKeyValueListValues && typ == wLen {
			kv, err := d.keyValueField(&b, msg, num, depth+1)
			if err != nil {
				return err
			}
			values = append(values, kv)
			continue
		}
		if err := skip(&b, msg, num, typ); err != nil {
			return err
		}
	}
	l.Values = values
	return nil
}
