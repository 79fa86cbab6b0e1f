// Package sample is loupe's tail sampler: it sits between the receivers and
// the ingest pipeline, holds every trace until it can judge it whole (its
// root span ended plus a grace period for late children, or a timeout when
// the root never arrives), and then keeps it in full, keeps its metadata
// only, or drops it, by a Policy whose rules are tried in order.
//
// Acknowledgement stays "durable": Submit appends each batch to a pending
// log under the data directory (fsync'd, group-committed) before it
// returns, and a restarted sampler replays what the store has not decided
// yet. Decisions are deterministic in the trace id, so every node judging
// the same trace agrees; exact pre-sampling counters and the decisions are
// written in the same store transaction as the kept spans.
//
// See docs/sampling.md for the policy file, the weights and the estimator.
package sample
