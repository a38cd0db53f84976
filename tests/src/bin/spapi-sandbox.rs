//! `spapi-sandbox`: the SP-API sandbox as its own process, for the local runner and manual runs.
//!
//! ```text
//! spapi-sandbox [--port N] [--seed S] [--clock-scale X] [--clock-origin RFC3339] [--rate-scale R]
//!               [--report-processing-secs N] [--feed-processing-secs N] [--gzip-min-bytes N]
//! ```
//!
//! Prints its base URL on stdout once it accepts connections, logs to stderr, and stops on Ctrl-C or SIGTERM.
//! Control it through the `/_sandbox/…` routes (see `tests::sandbox`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ::tests::sandbox::{Sandbox, SandboxOptions};
use chrono::{DateTime, Utc};
use shared::clock::ScaledClock;

const USAGE: &str = "usage: spapi-sandbox [--port N] [--seed S] [--clock-scale X] [--clock-origin RFC3339] \
                     [--rate-scale R] [--report-processing-secs N] [--feed-processing-secs N] [--gzip-min-bytes N]";

fn parse_args(args: impl Iterator<Item = String>) -> Result<SandboxOptions, String> {
    let mut options = SandboxOptions::default();
    let mut clock_scale = 1.0_f64;
    let mut clock_origin: Option<DateTime<Utc>> = None;
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |what: &str| format!("{flag}: expected {what}, got {value:?}");
        match flag.as_str() {
            "--port" => options.port = value.parse().map_err(|_| bad("a port number"))?,
            "--seed" => options.seed = value.parse().map_err(|_| bad("an unsigned integer"))?,
            "--clock-scale" => {
                clock_scale = value.parse().map_err(|_| bad("a number of at least 1"))?;
                if clock_scale.is_nan() || clock_scale < 1.0 {
                    return Err(bad("a number of at least 1"));
                }
            }
            "--clock-origin" => {
                let origin = DateTime::parse_from_rfc3339(&value).map_err(|_| bad("an RFC 3339 time"))?;
                clock_origin = Some(origin.with_timezone(&Utc));
            }
            "--rate-scale" => {
                options.rate_scale = value.parse().map_err(|_| bad("a positive number"))?;
                if options.rate_scale.is_nan() || options.rate_scale <= 0.0 {
                    return Err(bad("a positive number"));
                }
            }
            "--report-processing-secs" => {
                options.report_processing = Duration::from_secs(value.parse().map_err(|_| bad("seconds"))?);
            }
            "--feed-processing-secs" => {
                options.feed_processing = Duration::from_secs(value.parse().map_err(|_| bad("seconds"))?);
            }
            "--gzip-min-bytes" => options.gzip_min_bytes = value.parse().map_err(|_| bad("a byte count"))?,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    let origin = clock_origin.unwrap_or_else(Utc::now);
    options.clock = Arc::new(ScaledClock::new(origin, clock_scale));
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let sandbox = match Sandbox::start(options).await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("spapi-sandbox failed: cannot bind: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sandbox.base_url());
    wait_for_stop().await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<SandboxOptions, String> {
        parse_args(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn flags_set_their_options() {
        let options = parse(&[
            "--port",
            "8123",
            "--seed",
            "9",
            "--rate-scale",
            "60",
            "--clock-scale",
            "100",
            "--feed-processing-secs",
            "30",
        ])
        .expect("valid flags");
        assert_eq!(options.port, 8123);
        assert_eq!(options.feed_processing, Duration::from_secs(30));
        assert_eq!(options.seed, 9);
        assert_eq!(options.rate_scale, 60.0);
    }

    #[test]
    fn bad_flags_are_named() {
        assert!(parse(&["--port", "x"]).expect_err("bad port").contains("--port"));
        assert!(
            parse(&["--clock-scale", "0.5"])
                .expect_err("too slow")
                .contains("--clock-scale")
        );
        assert!(parse(&["--bogus", "1"]).expect_err("unknown").contains("--bogus"));
        assert!(parse(&["--seed"]).expect_err("no value").contains("--seed"));
    }
}
