//! The log of a whole run, kept in memory: the functions' tracing output at the level Lambda runs them with
//! (`INFO`, as the template's `LogLevel`), in the same text it would reach CloudWatch in, so a test can search it
//! for what must never be logged (buyer PII, tokens). The sandbox's own output is left out: it is Amazon.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

/// Captured log text; a clone shares the same buffer.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Installs the process-wide subscriber writing here. Fails if another one is installed (one per test
    /// process: nextest runs each test in its own).
    pub fn install() -> anyhow::Result<CapturedLogs> {
        let logs = CapturedLogs::default();
        let filter = tracing_subscriber::EnvFilter::new("info,tests::sandbox=off");
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(logs.clone())
            .try_init()
            .map_err(|e| anyhow::anyhow!("a log subscriber is installed already: {e}"))?;
        Ok(logs)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

/// One write to the shared buffer.
#[derive(Debug)]
pub struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter(self.0.clone())
    }
}
