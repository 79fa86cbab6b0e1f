package otlp

// MaxPBDepth exposes the protobuf decoder's nesting bound to the tests,
// which compare it with proto.Unmarshal under the same RecursionLimit.
const MaxPBDepth = maxPBDepth
