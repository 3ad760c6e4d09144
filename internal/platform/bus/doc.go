// Package bus is tenku's message queue: RPC between the parts of one service
// (nova-api → conductor → scheduler → compute agents; neutron server → agents)
// over NATS. Call is request/reply with a deadline, Cast is fire-and-forget;
// subscribers in a queue group share the work (start more workers, get more
// throughput — the property the seed praises), plain subscribers each get every
// message (fan-out, for notifications such as token revocations).
//
// Messages are versioned JSON envelopes that carry the method, the request id and
// the caller's authenticated context, so logs and policy follow a request across
// processes. Faults cross the bus with their status and type.
//
// tenku stack embeds a NATS server in-process with no TCP listener; split
// deployments connect to an external NATS (or cluster) by URL.
//
// bus imports platform/fault, platform/authn and platform/logging, and NATS.
package bus
