//! Panics as failures: a panic in a handler (a parser bug, a port that panics) ends as a failed message with
//! its reason, never as an aborted process that takes its batch with it. Release builds must unwind
//! (`panic = "unwind"` in the workspace's `Cargo.toml`): an abort cannot be caught.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

/// Longest panic message kept in a reason; the rest is cut.
const MAX_MESSAGE: usize = 200;

/// Why a handler failed when it panicked: `the handler panicked: <message>`. The message is the panic's own
/// (code's text and numbers, never a document's contents: no parser formats cell values into a panic), cut
/// to [`MAX_MESSAGE`] bytes.
pub fn reason(payload: &(dyn Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let mut end = message.len().min(MAX_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let cut = if end < message.len() { "…" } else { "" };
    format!("the handler panicked: {}{cut}", &message[..end])
}

/// Runs `future`, turning a panic while it is polled into `Err` with its [`reason`].
pub async fn catch<F: Future>(future: F) -> Result<F::Output, String> {
    // Boxed: a handler's future is deep already, and one more layer around it overflows the compiler's
    // query depth when a function's `main` future is laid out.
    AssertUnwindSafe(Box::pin(future))
        .catch_unwind()
        .await
        .map_err(|payload| reason(payload.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_quotes_the_panic_message_cut_at_a_character_boundary() {
        assert_eq!(reason(&"boom"), "the handler panicked: boom");
        assert_eq!(reason(&String::from("owned")), "the handler panicked: owned");
        assert_eq!(reason(&42u8), "the handler panicked: a panic without a message");
        let long = "é".repeat(150);
        let got = reason(&long);
        assert!(got.ends_with('…'));
        assert!(got.len() <= "the handler panicked: ".len() + MAX_MESSAGE + '…'.len_utf8());
    }
}
