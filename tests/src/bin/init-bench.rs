//! Init (cold-start) time of built Lambda bootstraps, measured locally: each one starts against a fake of the
//! Lambda Runtime API on loopback and the local AWS stack, configured as `infra/template.yaml` configures it,
//! and its init time is the time until it first asks for an invocation (`GET .../invocation/next`), which a
//! handler does only after its whole cold start (config, AWS SDK, secrets, clients). Besides that wall time it
//! reports the CPU time the process used until then (from /proc/PID/task/*/schedstat), which other load on the
//! machine disturbs far less. Prints figures, asserts nothing; `tests/infra-check.sh init` builds the functions
//! and runs it with a local stack.
//!
//! Usage: `init-bench [--runs N] NAME=PATH/TO/BOOTSTRAP...`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use tests::stack::{LocalStack, Template, unique_prefix};
use tokio::sync::mpsc;

/// What the fake Runtime API saw.
#[derive(Debug)]
enum Seen {
    /// The handler asked for its first invocation: init is over.
    Next(Instant),
    /// The handler reported a failed init.
    InitError(String),
}

type Events = Arc<mpsc::UnboundedSender<Seen>>;

async fn next(State(events): State<Events>) -> &'static str {
    let _ = events.send(Seen::Next(Instant::now()));
    // Never answer: the process is stopped once its init is measured.
    std::future::pending::<()>().await;
    ""
}

async fn init_error(State(events): State<Events>, body: String) -> &'static str {
    let _ = events.send(Seen::InitError(body));
    "{}"
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut runs = 7usize;
    let mut binaries = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().context("--runs needs a number")?.parse()?;
        } else {
            let (name, path) = arg
                .split_once('=')
                .ok_or_else(|| anyhow!("expected NAME=PATH, got {arg}"))?;
            binaries.push((name.to_owned(), PathBuf::from(path)));
        }
    }
    if binaries.is_empty() || runs == 0 {
        bail!("usage: init-bench [--runs N] NAME=PATH/TO/BOOTSTRAP...");
    }

    // The resources and settings a deployed function has, created in the local stack.
    let stack = LocalStack::from_env().await?;
    let template = Template::load()?;
    let prefix = unique_prefix("init");
    let resources = stack.provision(&template, &prefix).await?;
    let secret = format!("{prefix}/lwa-app");
    stack
        .secrets
        .create_secret()
        .name(&secret)
        .secret_string(r#"{"clientId":"amzn1.application-oa2-client.bench","clientSecret":"bench-only"}"#)
        .send()
        .await?;
    let mut env = Vec::new();
    let variables = template.document["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .context("no Globals.Function.Environment.Variables")?;
    for (name, value) in variables {
        let name = name.as_str().context("variable name")?.to_owned();
        match (name.as_str(), resources.resolve(value)) {
            ("LWA_CREDENTIALS_SECRET", _) => env.push((name, secret.clone())),
            (_, Ok(value)) => env.push((name, value)),
            // The role the API hands Scheduler for new schedules: required, but only named at init.
            ("SCHEDULER_ROLE_ARN", Err(_)) => env.push((
                name,
                "arn:aws:iam::000000000000:role/init-bench-scheduler".to_owned(),
            )),
            // Resources the local stack does not have (the KMS key, IAM roles) are optional settings.
            (_, Err(err)) => eprintln!("init-bench: leaving {name} unset: {err}"),
        }
    }
    for var in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION"] {
        env.push((var.to_owned(), std::env::var(var)?));
    }

    let (sender, mut seen) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(Arc::new(sender));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api: SocketAddr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    println!("init time until the first invocation request, {runs} runs each (min / median / max):");
    for (name, path) in binaries {
        // The function's own variables (e.g. the publisher's EVENT_BUS_NAME), from the resource that builds
        // this binary.
        let mut own = Vec::new();
        let functions = template.document["Resources"]
            .as_mapping()
            .context("no Resources")?
            .values()
            .filter(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(name.as_str()));
        for function in functions {
            if let Some(variables) = function["Properties"]["Environment"]["Variables"].as_mapping() {
                for (variable, value) in variables {
                    let variable = variable.as_str().context("variable name")?.to_owned();
                    match resources.resolve(value) {
                        Ok(value) => own.push((variable, value)),
                        Err(err) => eprintln!("init-bench: {name}: leaving {variable} unset: {err}"),
                    }
                }
            }
        }
        let (mut times, mut cpu_times) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let mut command = tokio::process::Command::new(&path);
            command
                .env_clear()
                .envs(env.iter().chain(&own).map(|(k, v)| (k, v)))
                .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", format!("{prefix}-{name}"))
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
                .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
                .env("AWS_ACCESS_KEY_ID", "local")
                .env("AWS_SECRET_ACCESS_KEY", "local")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            let started = Instant::now();
            let mut child = command
                .spawn()
                .with_context(|| format!("starting {}", path.display()))?;
            let event = tokio::time::timeout(Duration::from_secs(20), seen.recv()).await;
            // Read before the kill: the process is waiting for its invocation, so its CPU time is its init's.
            let cpu = child.id().and_then(cpu_time);
            let _ = child.kill().await;
            match event {
                Ok(Some(Seen::Next(at))) => {
                    times.push(at - started);
                    cpu_times.extend(cpu);
                }
                Ok(Some(Seen::InitError(body))) => bail!("{name} failed its init: {body}"),
                Ok(None) => bail!("the fake Runtime API stopped"),
                Err(_) => {
                    let output = child.wait_with_output().await?;
                    bail!(
                        "{name} did not ask for an invocation within 20 s; stderr:\n{}",
                        String::from_utf8_lossy(&output.stderr)
                    )
                }
            }
        }
        println!(
            "  {name}: wall {}, CPU {}",
            summary(&mut times),
            summary(&mut cpu_times)
        );
    }
    Ok(())
}

/// `min / median / max ms` of some durations.
fn summary(times: &mut [Duration]) -> String {
    if times.is_empty() {
        return "n/a".to_owned();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:.1} / {:.1} / {:.1} ms",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    )
}

/// CPU time a process's threads have used so far (Linux: the first field of each thread's schedstat, in ns).
fn cpu_time(pid: u32) -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}
