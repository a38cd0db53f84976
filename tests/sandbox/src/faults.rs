//! Fault injection: the next matching calls are throttled, fail, stall, get a truncated document, or create a
//! report or feed that ends FATAL.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::operations::Operation;

/// A fault to inject into the next `count` calls that match `operation` and `seller` (`None` matches any).
///
/// Over HTTP: `{"operation":"getReport","seller":"A1…","kind":{"type":"throttle"},"count":2}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// The operation to hit; `None` means any operation the kind applies to.
    #[serde(default)]
    pub operation: Option<Operation>,
    /// The seller to hit; `None` means any seller.
    #[serde(default)]
    pub seller: Option<String>,
    /// What happens.
    pub kind: FaultKind,
    /// How many matching calls it hits before it is used up.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault of `kind` for the next matching call of any operation and seller.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            operation: None,
            seller: None,
            kind,
            count: 1,
        }
    }

    /// Limits the fault to one operation.
    pub fn on(mut self, operation: Operation) -> Self {
        self.operation = Some(operation);
        self
    }

    /// Limits the fault to one seller.
    pub fn for_seller(mut self, seller: impl Into<String>) -> Self {
        self.seller = Some(seller.into());
        self
    }

    /// Makes the fault hit `count` calls.
    pub fn times(mut self, count: u32) -> Self {
        self.count = count;
        self
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FaultKind {
    /// Answer 429 `QuotaExceeded` exactly as an empty bucket would (counted as injected, takes no token).
    /// Aimed at `downloadDocument`, S3's 503 `SlowDown`.
    Throttle,
    /// Answer `status` (500 `InternalFailure` or 503 `ServiceUnavailable`; aimed at `downloadDocument`, S3's
    /// 500 `InternalError` or 503 `SlowDown`; aimed at `lwaToken`, LWA's `server_error`).
    ServerError {
        /// 500 or 503; anything else is answered as 500.
        status: u16,
    },
    /// Hold the response back for `millis` of wall-clock time (client timeouts are wall-clock too), then answer.
    Slow {
        /// The delay in milliseconds.
        millis: u64,
    },
    /// Serve the next document download cut short: mid-row for plain text, mid-stream for gzip.
    TruncateDocument,
    /// Make the next created report end `FATAL`, with an error document saying so, or the next created feed
    /// end `FATAL` without a processing report.
    Fatal,
}

impl FaultKind {
    /// A `Slow` fault of `delay`.
    pub fn slow(delay: Duration) -> Self {
        FaultKind::Slow {
            millis: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The operations a fault of this kind can hit when the fault names none.
    fn applies_to(&self, op: Operation) -> bool {
        match self {
            FaultKind::Throttle | FaultKind::ServerError { .. } => op.is_sp_api(),
            FaultKind::Slow { .. } => true,
            FaultKind::TruncateDocument => op == Operation::DownloadDocument,
            FaultKind::Fatal => matches!(op, Operation::CreateReport | Operation::CreateFeed),
        }
    }
}

/// A fault as listed by the sandbox, with the calls it still has to hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmedFault {
    /// The sandbox's id for it.
    pub id: u64,
    /// The fault; its `count` is what is left.
    #[serde(flatten)]
    pub fault: Fault,
}

/// The faults waiting to hit, in the order they were injected.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    next_id: u64,
    armed: Vec<ArmedFault>,
}

impl Faults {
    /// Arms a fault and returns its id; a fault with `count` 0 is never armed.
    pub(crate) fn inject(&mut self, fault: Fault) -> u64 {
        self.next_id += 1;
        if fault.count > 0 {
            self.armed.push(ArmedFault {
                id: self.next_id,
                fault,
            });
        }
        self.next_id
    }

    /// Disarms every fault.
    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    /// The faults still armed.
    pub(crate) fn list(&self) -> Vec<ArmedFault> {
        self.armed.clone()
    }

    /// Uses up one hit of the first armed fault matching the call and `wanted`, returning its kind.
    pub(crate) fn take(
        &mut self,
        op: Operation,
        seller: Option<&str>,
        wanted: impl Fn(&FaultKind) -> bool,
    ) -> Option<FaultKind> {
        let index = self.armed.iter().position(|armed| {
            let fault = &armed.fault;
            let op_matches = match fault.operation {
                Some(target) => target == op,
                None => fault.kind.applies_to(op),
            };
            let seller_matches = match (&fault.seller, seller) {
                (None, _) => true,
                (Some(target), Some(seller)) => target == seller,
                (Some(_), None) => false,
            };
            op_matches && seller_matches && wanted(&fault.kind)
        })?;
        let armed = &mut self.armed[index];
        let kind = armed.fault.kind.clone();
        armed.fault.count -= 1;
        if armed.fault.count == 0 {
            self.armed.remove(index);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_hits_its_count_of_matching_calls_then_disarms() {
        let mut faults = Faults::default();
        faults.inject(
            Fault::new(FaultKind::Throttle)
                .on(Operation::GetReport)
                .for_seller("A1")
                .times(2),
        );
        let any = |_: &FaultKind| true;
        assert_eq!(faults.take(Operation::CreateReport, Some("A1"), any), None);
        assert_eq!(faults.take(Operation::GetReport, Some("A2"), any), None);
        assert_eq!(
            faults.take(Operation::GetReport, Some("A1"), any),
            Some(FaultKind::Throttle)
        );
        assert_eq!(
            faults.take(Operation::GetReport, Some("A1"), any),
            Some(FaultKind::Throttle)
        );
        assert_eq!(faults.take(Operation::GetReport, Some("A1"), any), None);
        assert!(faults.list().is_empty());
    }

    #[test]
    fn a_fault_without_an_operation_hits_only_where_its_kind_makes_sense() {
        let mut faults = Faults::default();
        faults.inject(Fault::new(FaultKind::TruncateDocument));
        let any = |_: &FaultKind| true;
        assert_eq!(faults.take(Operation::GetReport, None, any), None);
        assert_eq!(
            faults.take(Operation::DownloadDocument, None, any),
            Some(FaultKind::TruncateDocument)
        );
    }

    #[test]
    fn faults_read_from_json() {
        let fault: Fault = serde_json::from_str(
            r#"{"operation":"createReport","kind":{"type":"serverError","status":503},"count":3}"#,
        )
        .expect("valid fault");
        assert_eq!(fault.operation, Some(Operation::CreateReport));
        assert_eq!(fault.kind, FaultKind::ServerError { status: 503 });
        assert_eq!(fault.count, 3);
        let slow: Fault =
            serde_json::from_str(r#"{"kind":{"type":"slow","millis":20}}"#).expect("valid fault");
        assert_eq!(slow.count, 1);
    }
}
