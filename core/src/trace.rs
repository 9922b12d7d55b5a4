//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): the `traceparent` value that travels
//! from an API request through the work queue to the worker, so that the logs of one execution
//! correlate across processes.
//!
//! Only version `00` is understood: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`,
//! lowercase, with non-zero ids. Anything else is treated as absent and a new trace is started.

use std::fmt;

/// The name of the HTTP header and of the queue message attribute.
pub const TRACEPARENT: &str = "traceparent";

/// The flags of a trace started here: not sampled, since this service records no spans (the
/// value exists to correlate logs).
const NEW_TRACE_FLAGS: u8 = 0x00;

/// A parsed version-00 `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// Never zero.
    pub trace_id: u128,
    /// The id of the span that sent this value ("parent-id" in the spec); never zero.
    pub span_id: u64,
    /// Trace flags; bit 0 is "sampled".
    pub flags: u8,
}

impl TraceParent {
    /// A new trace: random trace and span ids.
    pub fn new_root() -> Self {
        Self {
            trace_id: non_zero_u128(),
            span_id: non_zero_u64(),
            flags: NEW_TRACE_FLAGS,
        }
    }

    /// The value to pass on from a new span of this trace: the same trace id and flags, a new
    /// span id.
    pub fn child(&self) -> Self {
        let mut span_id = non_zero_u64();
        while span_id == self.span_id {
            span_id = non_zero_u64();
        }
        Self { span_id, ..*self }
    }

    /// The trace id as 32 lowercase hex digits, as it appears in logs.
    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id as 16 lowercase hex digits.
    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.span_id, self.flags
        )
    }
}

/// A `traceparent` value for a new trace.
pub fn new_trace_parent() -> String {
    TraceParent::new_root().to_string()
}

/// Parse a `traceparent` value: version `00`, lowercase hex, non-zero ids, nothing around it.
pub fn parse_trace_parent(s: &str) -> Option<TraceParent> {
    let mut parts = s.split('-');
    let (version, trace_id, span_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || version != "00" {
        return None;
    }
    let trace_id = u128::from_str_radix(lower_hex(trace_id, 32)?, 16).ok()?;
    let span_id = u64::from_str_radix(lower_hex(span_id, 16)?, 16).ok()?;
    let flags = u8::from_str_radix(lower_hex(flags, 2)?, 16).ok()?;
    (trace_id != 0 && span_id != 0).then_some(TraceParent {
        trace_id,
        span_id,
        flags,
    })
}

/// `s` if it is exactly `len` lowercase hex digits (`from_str_radix` alone would accept
/// uppercase and a leading `+`).
fn lower_hex(s: &str, len: usize) -> Option<&str> {
    (s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(s)
}

fn non_zero_u128() -> u128 {
    loop {
        let id = rand::random::<u128>();
        if id != 0 {
            return id;
        }
    }
}

fn non_zero_u64() -> u64 {
    loop {
        let id = rand::random::<u64>();
        if id != 0 {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_the_spec_example_and_round_trips() {
        let tp = parse_trace_parent(VALID).expect("valid");
        assert_eq!(tp.trace_id, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
        assert_eq!(tp.span_id, 0x00f0_67aa_0ba9_02b7);
        assert_eq!(tp.flags, 0x01);
        assert_eq!(tp.to_string(), VALID);
        assert_eq!(tp.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.span_id_hex(), "00f067aa0ba902b7");
    }

    #[test]
    fn keeps_leading_zeros_and_any_flags() {
        let s = "00-00000000000000000000000000000001-0000000000000001-ff";
        let tp = parse_trace_parent(s).expect("valid");
        assert_eq!((tp.trace_id, tp.span_id, tp.flags), (1, 1, 0xff));
        assert_eq!(tp.to_string(), s);
    }

    #[test]
    fn rejects_malformed_values() {
        let invalid = [
            "",
            "00",
            // Other versions, including the forbidden ff.
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // Zero ids.
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // Uppercase hex.
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
            // Wrong lengths.
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            // Not hex, or a sign `from_str_radix` would take.
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-+0f067aa0ba902b7-01",
            // Extra parts, separators or whitespace.
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
        ];
        for s in invalid {
            assert_eq!(parse_trace_parent(s), None, "{s:?} was accepted");
        }
    }

    #[test]
    fn new_trace_parents_are_valid_and_distinct() {
        let a = new_trace_parent();
        let b = new_trace_parent();
        let pa = parse_trace_parent(&a).expect("a new trace parent parses");
        let pb = parse_trace_parent(&b).expect("a new trace parent parses");
        assert_eq!(a.len(), 55);
        assert_ne!(pa.trace_id, pb.trace_id);
        assert_eq!(pa.flags, NEW_TRACE_FLAGS);
    }

    #[test]
    fn a_child_keeps_the_trace_and_flags_with_a_new_span() {
        let parent = parse_trace_parent(VALID).expect("valid");
        let child = parent.child();
        assert_eq!(child.trace_id, parent.trace_id);
        assert_eq!(child.flags, parent.flags);
        assert_ne!(child.span_id, parent.span_id);
        assert_ne!(child.span_id, 0);
        assert_eq!(parse_trace_parent(&child.to_string()), Some(child));
    }
}
