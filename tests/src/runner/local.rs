//! The local runner: the functions of `infra/template.yaml` run in this process around their real handlers,
//! against the local stack, with what AWS would do around them. Resources come from the template
//! ([`LocalStack::provision`]); a function's `ScheduleV2` events fire on the runner's clock; its `SQS` events
//! poll their queue like an event-source mapping; each account's schedule in the Scheduler group (created by
//! the account use cases, never fired by moto) ticks the report requester at its rate.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_scheduler::types::ScheduleState;
use chrono::{DateTime, Utc};
use serde_norway::Value;
use shared::app::accounts::Accounts;
use shared::app::batch::DeadLetters;
use shared::app::credentials::AppCredentials;
use shared::app::feeds::FeedProcessor;
use shared::app::import::Import;
use shared::app::notifications::NotificationHandler;
use shared::app::poll_reports::PollSummary;
use shared::app::request_reports::{Tick, TickOutcome};
use shared::clock::Clock;
use shared::config::Config;
use shared::domain::{ImportSummary, JobState};

use super::chaos::{self, Delivery, SharedPlan};
use super::sqs_source::SqsSource;
use super::streams::StreamSource;
use super::ticker::Ticker;
use crate::stack::{LocalStack, Resources, Template};

/// Where the runner's functions find Amazon, and how fast its time runs.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Prefix of every local resource name (the local "stack name").
    pub prefix: String,
    /// SP-API base URL for every region.
    pub spapi_url: String,
    /// LWA token endpoint.
    pub lwa_url: String,
    /// The SP-API application's LWA client id and secret, stored as the credentials secret.
    pub lwa_client: (String, String),
    /// Origin of the shared scaled clock.
    pub clock_origin: DateTime<Utc>,
    /// How many times faster than the wall clock time runs.
    pub clock_scale: f64,
    /// Wall-clock time a received SQS message stays hidden: how soon a failed one comes back.
    pub redelivery: Duration,
    /// Accounts subscribe to Amazon's notifications (the template's `NOTIFICATION_QUEUE_ARN`); `false` runs
    /// on reports and polling alone.
    pub notifications: bool,
    /// A clock the caller moves (a benchmark's manual clock), used instead of the scaled one: time then passes
    /// only between rounds (and in the functions' own waits), and every round takes Amazon's notifications and
    /// drains every queue whole, as AWS would within the time a round stands for, however long it takes here.
    pub stepped_clock: Option<Arc<dyn Clock>>,
}

/// A function crate of the template and the events that invoke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    Requester,
    Poller,
    Parser,
    FeedSubmitter,
    FeedPoller,
    Publisher,
    Credentials,
    Notifications,
}

impl Handler {
    /// The function's crate.
    fn crate_name(self) -> &'static str {
        match self {
            Handler::Requester => "request-reports",
            Handler::Poller => "poll-reports",
            Handler::Parser => "parse-reports",
            Handler::FeedSubmitter => "submit-feeds",
            Handler::FeedPoller => "poll-feeds",
            Handler::Publisher => "publish-events",
            Handler::Credentials => "rotate-credentials",
            Handler::Notifications => "take-notifications",
        }
    }

    const ALL: [Handler; 8] = [
        Handler::Requester,
        Handler::Poller,
        Handler::Parser,
        Handler::FeedSubmitter,
        Handler::FeedPoller,
        Handler::Publisher,
        Handler::Credentials,
        Handler::Notifications,
    ];

    fn of_crate(name: &str) -> Option<Handler> {
        Handler::ALL.into_iter().find(|h| h.crate_name() == name)
    }
}

#[derive(Debug)]
struct Scheduled {
    name: String,
    expression: String,
    handler: Handler,
}

/// A function's `DynamoDB` event: a table's stream and the batch size its mapping reads.
type StreamMapping = (StreamSource, i32);

#[derive(Debug)]
struct QueueSource {
    name: String,
    source: SqsSource,
    handler: Handler,
}

/// What the runner's functions did so far.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Account schedule ticks delivered to the report requester.
    pub ticks: u64,
    /// Ticks that requested reports.
    pub ticks_requested: u64,
    /// Ticks that ended in an error (retried by the next tick) or a recorded failure.
    pub ticks_failed: u64,
    /// Report poller runs.
    pub poll_runs: u64,
    /// The wall time they took together.
    pub poll_time: Duration,
    /// What the poller did over all runs.
    pub polls: PollSummary,
    /// SQS messages handed to handlers.
    pub messages: u64,
    /// Messages handlers reported as failed (to be redelivered).
    pub messages_failed: u64,
    /// Stream records handed to the event publisher.
    pub stream_records: u64,
    /// Stream batches the publisher failed (read again from the failed record).
    pub stream_batches_failed: u64,
    /// Invocations of each function (by its crate): a scheduled run, a tick, a queue's or a stream's batch.
    pub invocations: BTreeMap<&'static str, u64>,
}

impl Activity {
    fn invoked(&mut self, handler: Handler, times: u64) {
        if times > 0 {
            *self.invocations.entry(handler.crate_name()).or_default() += times;
        }
    }

    /// What one read of a stream handed to the event publisher.
    fn pumped(&mut self, stats: super::streams::PumpStats) {
        self.invoked(Handler::Publisher, stats.batches as u64);
        self.stream_records += stats.records as u64;
        self.stream_batches_failed += stats.failed_batches as u64;
    }
}

/// The functions of the template, running locally.
#[derive(Debug)]
pub struct LocalRunner {
    /// The local stack's clients.
    pub stack: LocalStack,
    /// The template's resources, created locally.
    pub resources: Resources,
    /// The configuration every function got.
    pub config: Config,
    /// The import functions' use cases.
    pub import: Import,
    /// The account use cases.
    pub accounts: Accounts,
    /// The feed submitter's and poller's use cases.
    pub feeds: FeedProcessor,
    /// The application credentials' use cases.
    pub credentials: AppCredentials,
    app_dead_letters: Option<DeadLetters>,
    /// The sellers' notifications' use cases.
    pub notifications: NotificationHandler,
    notification_dead_letters: Option<DeadLetters>,
    /// The sandbox, whose application notifications the runner delivers to the stack's queue as Amazon would.
    spapi_url: String,
    /// The client that asks the sandbox for them, and when it last asked (wall time).
    http: reqwest::Client,
    notifications_taken: Option<std::time::Instant>,
    /// What happened so far.
    pub activity: Activity,
    clock: Arc<dyn Clock>,
    scheduled: Vec<Scheduled>,
    queues: Vec<QueueSource>,
    /// The tables' streams the event publisher reads.
    streams: Vec<StreamMapping>,
    publisher: Option<Arc<dyn shared::ports::EventPublisher>>,
    /// When the streams were last read.
    streams_read: Option<std::time::Instant>,
    parse_dead_letters: Option<DeadLetters>,
    ticker: Ticker,
    chaos: Option<SharedPlan>,
    /// Whether the caller steps the clock ([`RunnerSettings::stepped_clock`]).
    stepped: bool,
}

impl LocalRunner {
    /// Creates the template's resources under `settings.prefix`, the LWA credentials secret, and every
    /// function's dependencies, configured as the template's `Globals` configure them in the cloud.
    pub async fn start(stack: LocalStack, settings: &RunnerSettings) -> Result<LocalRunner> {
        let template = Template::load()?;
        let resources = stack.provision(&template, &settings.prefix).await?;
        let mut env = function_environment(&template, &resources)?;
        let lwa_secret = format!("{}/lwa-app", settings.prefix);
        let (client_id, client_secret) = &settings.lwa_client;
        stack
            .secrets
            .create_secret()
            .name(&lwa_secret)
            .secret_string(
                serde_json::json!({"clientId": client_id, "clientSecret": client_secret}).to_string(),
            )
            .send()
            .await
            .context("storing the LWA credentials")?;
        let function_arn = |id: &str| {
            format!(
                "arn:aws:lambda:us-east-1:000000000000:function:{}-{id}",
                settings.prefix
            )
        };
        env.extend([
            ("LWA_CREDENTIALS_SECRET".to_owned(), lwa_secret),
            ("SPAPI_ENDPOINT".to_owned(), settings.spapi_url.clone()),
            ("LWA_ENDPOINT".to_owned(), settings.lwa_url.clone()),
            ("CLOCK_SCALE".to_owned(), settings.clock_scale.to_string()),
            ("CLOCK_ORIGIN".to_owned(), settings.clock_origin.to_rfc3339()),
            // Connect links go to the sandbox's Seller Central, for the one application it knows.
            ("SELLER_CENTRAL_URL".to_owned(), settings.spapi_url.clone()),
            (
                "SPAPI_APPLICATION_ID".to_owned(),
                crate::sandbox::APPLICATION_ID.to_owned(),
            ),
        ]);
        if !settings.notifications {
            env.remove("NOTIFICATION_QUEUE_ARN");
        }
        // Settings the template leaves to the runner when it does not set them.
        env.entry("REQUESTER_ARN".to_owned())
            .or_insert(function_arn("request-reports"));
        env.entry("SCHEDULER_ROLE_ARN".to_owned())
            .or_insert("arn:aws:iam::000000000000:role/local-scheduler".to_owned());
        env.entry("SCHEDULE_GROUP".to_owned())
            .or_insert(resources.get("AccountScheduleGroup")?.to_owned());
        let schedule_dlq = resources
            .arns
            .get("ScheduleDeadLetterQueue")
            .ok_or_else(|| anyhow!("the template has no ScheduleDeadLetterQueue"))?;
        env.entry("SCHEDULE_DLQ_ARN".to_owned())
            .or_insert(schedule_dlq.clone());
        // The parse deadline outlasts the parse queue's deliveries, as in AWS (12 h against 5 x 90 min): here
        // a failed message comes back after `redelivery` of wall time, which the scaled clock stretches.
        let deliveries = settings.redelivery.max(Duration::from_secs(1)).as_secs_f64()
            * settings.clock_scale
            * f64::from(shared::runtime::PARSE_MAX_RECEIVES);
        let deadline_minutes = (deliveries * 1.6 / 60.0).ceil().clamp(60.0, 14.0 * 24.0 * 60.0);
        env.entry("PARSE_DEADLINE_MINUTES".to_owned())
            .or_insert(format!("{deadline_minutes:.0}"));
        let mut config = Config::from_lookup(|name| env.get(name).cloned())?;
        config.given_clock = settings.stepped_clock.clone();
        let import = shared::runtime::import(&config, &stack.sdk).await?;
        let accounts = shared::runtime::accounts(&config, &stack.sdk)?;
        let feeds = shared::runtime::feeds(&config, &stack.sdk).await?;
        let parse_dead_letters = shared::runtime::parse_dead_letters(&config, &stack.sdk);
        let (credentials, app_dead_letters) = shared::runtime::credentials(&config, &stack.sdk).await?;
        let (notifications, notification_dead_letters) =
            shared::runtime::notifications(&config, &stack.sdk).await?;
        let (scheduled, queues, streams) =
            function_events(&template, &resources, &stack, settings.redelivery)?;
        let publisher: Option<Arc<dyn shared::ports::EventPublisher>> = if streams.is_empty() {
            None
        } else {
            let bus = Config::require(&config.event_bus_name, "EVENT_BUS_NAME")?;
            Some(Arc::new(shared::runtime::event_publisher(
                &stack.sdk,
                bus.to_owned(),
            )))
        };
        Ok(LocalRunner {
            clock: config.clock(),
            stack,
            resources,
            config,
            import,
            accounts,
            feeds,
            credentials,
            app_dead_letters,
            notifications,
            notification_dead_letters,
            spapi_url: settings.spapi_url.clone(),
            http: reqwest::Client::new(),
            notifications_taken: None,
            activity: Activity::default(),
            scheduled,
            queues,
            streams,
            publisher,
            streams_read: None,
            parse_dead_letters,
            ticker: Ticker::default(),
            chaos: None,
            stepped: settings.stepped_clock.is_some(),
        })
    }

    /// Serves the API function's routes on `127.0.0.1:port` (0 picks a free port), as API Gateway would in
    /// front of it (without IAM authorization), until the returned task is aborted.
    pub async fn serve_api(&self, port: u16) -> Result<(String, tokio::task::JoinHandle<()>)> {
        let api = shared::runtime::api(&self.config, &self.stack.sdk).await?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .context("binding the API's port")?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, shared::api::router(api)).await {
                tracing::error!(%error, "the local API stopped");
            }
        });
        Ok((url, task))
    }

    /// Lets `plan` decide what happens to every SQS batch and scheduled run from now on (crashes, timeouts,
    /// duplicate and reordered deliveries).
    pub fn set_chaos(&mut self, plan: SharedPlan) {
        self.chaos = Some(plan);
    }

    fn next_delivery(&self, scheduled: bool) -> Delivery {
        match &self.chaos {
            Some(plan) if scheduled => chaos::lock(plan).scheduled_run(),
            Some(plan) => chaos::lock(plan).batch(),
            None => Delivery::Normal,
        }
    }

    /// The runner's clock (the functions' clock).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// One round: every schedule that is due fires, every queue is drained of what is visible, and the
    /// tables' streams are published for a moment.
    pub async fn step(&mut self) -> Result<()> {
        let now = self.clock.now();
        let mut names = Vec::new();
        for (name, expression, tick) in self.account_schedules().await? {
            names.push(name.clone());
            if self.ticker.due(&name, &expression, now)? {
                self.tick(&tick).await;
            }
        }
        for i in 0..self.scheduled.len() {
            let (name, expression, handler) = {
                let s = &self.scheduled[i];
                (s.name.clone(), s.expression.clone(), s.handler)
            };
            names.push(name.clone());
            if self.ticker.due(&name, &expression, now)? {
                self.invoke_scheduled(handler).await?;
            }
        }
        self.ticker.retain(&names);
        self.deliver_notifications().await;
        for i in 0..self.queues.len() {
            self.drain(i).await?;
        }
        // Five seconds of wall time between reads, a quarter of a second each.
        if self
            .streams_read
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(5))
        {
            self.read_streams(Some(Duration::from_millis(250))).await?;
        }
        Ok(())
    }

    /// Delivers what Amazon would: the sandbox's application notifications (a new client secret) to the stack's
    /// application notification queue, and the sellers' notifications to the queue their destination names (the
    /// stack's notification queue). A sandbox that cannot be asked is asked again at a later round.
    async fn deliver_notifications(&mut self) {
        // A quarter of a second of wall time between asks: every round of a fast clock asking would cost the
        // other functions' rounds.
        if !self.stepped
            && self
                .notifications_taken
                .is_some_and(|at| at.elapsed() < Duration::from_millis(250))
        {
            return;
        }
        self.notifications_taken = Some(std::time::Instant::now());
        let mut deliveries = Vec::new();
        if let Ok(queue) = self.resources.get("AppNotificationQueue") {
            let queue = queue.to_owned();
            for body in self.take_from_sandbox("/_sandbox/app/notifications/take").await {
                deliveries.push((queue.clone(), body));
            }
        }
        for taken in self.take_from_sandbox("/_sandbox/notifications/take").await {
            let arn = taken["arn"].as_str().unwrap_or_default();
            // Amazon delivers to the ARN the destination names; here that is one of the stack's queues.
            let Some((id, _)) = self.resources.arns.iter().find(|(_, a)| a.as_str() == arn) else {
                tracing::warn!(arn, "a notification for a queue the local stack does not have");
                continue;
            };
            if let Ok(queue) = self.resources.get(id) {
                deliveries.push((queue.to_owned(), taken["body"].clone()));
            }
        }
        for (queue, body) in deliveries {
            let sent = self
                .stack
                .sqs
                .send_message()
                .queue_url(&queue)
                .message_body(body.to_string())
                .send()
                .await;
            if let Err(error) = sent {
                tracing::warn!(%error, "cannot deliver a notification");
            }
        }
    }

    /// What the sandbox's control route `path` hands over (`{"notifications": [...]}`); nothing when it cannot
    /// be asked.
    async fn take_from_sandbox(&self, path: &str) -> Vec<serde_json::Value> {
        let taken = async {
            let response = self
                .http
                .post(format!("{}{path}", self.spapi_url))
                .send()
                .await?
                .error_for_status()?;
            let body: serde_json::Value = response.json().await?;
            Ok::<_, reqwest::Error>(body["notifications"].as_array().cloned().unwrap_or_default())
        }
        .await;
        taken.unwrap_or_else(|error| {
            tracing::warn!(%error, path, "cannot take the sandbox's notifications");
            Vec::new()
        })
    }

    /// Publishes everything the tables' streams hold so far, as the template's mappings do.
    pub async fn pump_streams(&mut self) -> Result<()> {
        self.read_streams(None).await
    }

    /// Publishes everything the stream of the template's table `table` (a logical id) holds so far.
    pub async fn pump_stream(&mut self, table: &str) -> Result<()> {
        let name = self.resources.get(table)?.to_owned();
        let Some(publisher) = &self.publisher else {
            return Ok(());
        };
        for (source, batch_size) in &mut self.streams {
            if source.table() == name {
                let stats = source.pump(publisher.as_ref(), *batch_size, None).await?;
                self.activity.pumped(stats);
            }
        }
        Ok(())
    }

    /// Reads the streams for at most `budget` (all of them without one). DynamoDB Local answers GetRecords
    /// slowly, a few records at a time, and serves nothing else meanwhile: unbounded, reading after a large
    /// import would stall the other functions for a minute of wall time (hours on the runner's clock), so
    /// while the import runs the publisher lags and catches up when asked.
    async fn read_streams(&mut self, budget: Option<Duration>) -> Result<()> {
        let Some(publisher) = &self.publisher else {
            return Ok(());
        };
        for (source, batch_size) in &mut self.streams {
            let stats = source
                .pump(publisher.as_ref(), *batch_size, budget)
                .await
                .context("reading a table's stream")?;
            self.activity.pumped(stats);
        }
        self.streams_read = Some(std::time::Instant::now());
        Ok(())
    }

    /// Steps until the clock reaches `end`, pausing `pause` of wall-clock time between rounds.
    pub async fn run_until(&mut self, end: DateTime<Utc>, pause: Duration) -> Result<()> {
        while self.clock.now() < end {
            self.step().await?;
            tokio::time::sleep(pause).await;
        }
        Ok(())
    }

    /// Steps until no report job is pending or parsing and every queue is empty, or fails after `limit` of the
    /// clock's time.
    pub async fn settle(&mut self, limit: chrono::TimeDelta, pause: Duration) -> Result<()> {
        let deadline = self.clock.now() + limit;
        loop {
            self.step().await?;
            if self.is_idle().await? {
                return Ok(());
            }
            if self.clock.now() > deadline {
                bail!(
                    "still busy after {limit} of clock time: {:?}; open jobs: {:?}; waiting: {:?}",
                    self.activity,
                    self.open_job_states().await?,
                    self.waiting().await?
                );
            }
            tokio::time::sleep(pause).await;
        }
    }

    async fn is_idle(&self) -> Result<bool> {
        for queue in &self.queues {
            if queue.source.depth().await? > 0 {
                return Ok(false);
            }
        }
        // Seller actions still queued, or in a feed Amazon has not answered yet.
        let outbox = &self.feeds.outbox;
        if !outbox.queued_groups().await?.is_empty() || !outbox.open_submissions(1).await?.is_empty() {
            return Ok(false);
        }
        let mut after: Option<String> = None;
        loop {
            let page = self.accounts_page(after.as_deref()).await?;
            for account in &page.items {
                if self.open_jobs(&account.account.id).await? > 0 {
                    return Ok(false);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(true),
            }
        }
    }

    /// What keeps the stack from being idle besides open jobs: each queue's depth and the outbox's queued
    /// groups and open submissions.
    async fn waiting(&self) -> Result<Vec<String>> {
        let mut waiting = Vec::new();
        for queue in &self.queues {
            let depth = queue.source.depth().await?;
            if depth > 0 {
                waiting.push(format!("{}: {depth} messages", queue.name));
            }
        }
        let outbox = &self.feeds.outbox;
        let groups = outbox.queued_groups().await?;
        if !groups.is_empty() {
            waiting.push(format!("outbox: {} queued groups", groups.len()));
        }
        let open = outbox.open_submissions(1000).await?;
        if !open.is_empty() {
            waiting.push(format!("outbox: {} open submissions", open.len()));
        }
        Ok(waiting)
    }

    /// Every pending or parsing job: account, report type, state.
    async fn open_job_states(&self) -> Result<Vec<String>> {
        let mut open = Vec::new();
        let accounts = self.accounts_page(None).await?;
        for record in accounts.items {
            let jobs = self.import.jobs.list_jobs(&record.account.id, None, 1000).await?;
            open.extend(
                jobs.items
                    .iter()
                    .filter(|job| matches!(job.state, JobState::Pending { .. } | JobState::Parsing { .. }))
                    .map(|job| {
                        format!(
                            "{} {} {:?} polls {}",
                            job.account_id, job.report_id, job.state, job.polls
                        )
                    }),
            );
        }
        Ok(open)
    }

    async fn accounts_page(
        &self,
        after: Option<&str>,
    ) -> Result<shared::ports::Page<shared::ports::AccountRecord>> {
        Ok(self.import.accounts.list_accounts(after, 100).await?)
    }

    async fn open_jobs(&self, account: &str) -> Result<usize> {
        let mut open = 0;
        let mut after: Option<String> = None;
        loop {
            let page = self.import.jobs.list_jobs(account, after.as_deref(), 100).await?;
            open += page
                .items
                .iter()
                .filter(|job| matches!(job.state, JobState::Pending { .. } | JobState::Parsing { .. }))
                .count();
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(open),
            }
        }
    }

    /// What the account's report jobs did, added up, and how many ended in each state.
    pub async fn job_summary(&self, account: &str) -> Result<(ImportSummary, BTreeMap<&'static str, u64>)> {
        let mut total = ImportSummary::default();
        let mut states = BTreeMap::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.import.jobs.list_jobs(account, after.as_deref(), 100).await?;
            for job in &page.items {
                *states.entry(job.state.name()).or_insert(0) += 1;
                if let JobState::Imported { summary, .. } = &job.state {
                    total.add(summary);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok((total, states)),
            }
        }
    }

    async fn tick(&mut self, tick: &Tick) {
        self.activity.ticks += 1;
        self.activity.invoked(Handler::Requester, 1);
        let awaits = match self.next_delivery(true) {
            Delivery::TimeoutAfter(awaits) => awaits,
            _ => u32::MAX,
        };
        let Some(outcome) = chaos::cut_off_after(awaits, self.import.tick(tick)).await else {
            self.activity.ticks_failed += 1;
            tracing::warn!(account = %tick.account_id, "tick timed out; the next one retries");
            return;
        };
        match outcome {
            Ok(TickOutcome::Requested { .. }) => self.activity.ticks_requested += 1,
            Ok(TickOutcome::Skipped { .. }) => {}
            Ok(TickOutcome::Failed { error }) => {
                self.activity.ticks_failed += 1;
                tracing::warn!(account = %tick.account_id, %error, "tick failed");
            }
            Err(error) => {
                self.activity.ticks_failed += 1;
                tracing::warn!(account = %tick.account_id, %error, "tick failed; the next one retries");
            }
        }
    }

    async fn invoke_scheduled(&mut self, handler: Handler) -> Result<()> {
        // A timeout cuts the run off at an await: what it did so far stays done, the rest waits for the next run.
        // The credentials check is left out of the chaos plan (as its queue is).
        let delivery = if handler == Handler::Credentials {
            Delivery::Normal
        } else {
            self.next_delivery(true)
        };
        let awaits = match delivery {
            Delivery::TimeoutAfter(awaits) => awaits,
            _ => u32::MAX,
        };
        self.activity.invoked(handler, 1);
        match handler {
            Handler::Poller => {
                self.activity.poll_runs += 1;
                let started = std::time::Instant::now();
                let outcome = chaos::cut_off_after(awaits, self.import.poll_reports()).await;
                self.activity.poll_time += started.elapsed();
                match outcome {
                    Some(Ok(summary)) => self.activity.polls.add(summary),
                    Some(Err(error)) => tracing::warn!(%error, "poll run failed; the next one retries"),
                    None => tracing::warn!("poll run timed out; the next one retries"),
                }
            }
            Handler::FeedSubmitter => match chaos::cut_off_after(awaits, self.feeds.submit_due()).await {
                Some(Err(error)) => {
                    tracing::warn!(%error, "feed submitter run failed; the next one retries")
                }
                None => tracing::warn!("feed submitter run timed out; the next one retries"),
                Some(Ok(_)) => {}
            },
            Handler::FeedPoller => match chaos::cut_off_after(awaits, self.feeds.poll_feeds()).await {
                Some(Err(error)) => tracing::warn!(%error, "feed poll run failed; the next one retries"),
                None => tracing::warn!("feed poll run timed out; the next one retries"),
                Some(Ok(_)) => {}
            },
            Handler::Credentials => {
                if let Err(error) = self.credentials.check().await {
                    tracing::warn!(%error, "credentials check failed; the next day's retries");
                }
            }
            Handler::Requester | Handler::Parser | Handler::Publisher | Handler::Notifications => {
                bail!("{handler:?} is not invoked by a schedule of the template")
            }
        }
        Ok(())
    }

    async fn drain(&mut self, i: usize) -> Result<()> {
        loop {
            // The credentials and notification functions are left out of the chaos plan: their queues draw no
            // fault, so a seed's faults on the import and feed queues stay what they were before they existed.
            let delivery = if matches!(
                self.queues[i].handler,
                Handler::Credentials | Handler::Notifications
            ) {
                Delivery::Normal
            } else {
                self.next_delivery(false)
            };
            let queue = &self.queues[i];
            let (import, dead_letters) = (&self.import, self.parse_dead_letters.as_ref());
            let feeds = &self.feeds;
            let (credentials, app_dead_letters) = (&self.credentials, self.app_dead_letters.as_ref());
            let (notifications, notification_dead_letters) =
                (&self.notifications, self.notification_dead_letters.as_ref());
            let stats = match queue.handler {
                Handler::Parser => {
                    queue
                        .source
                        .poll_once_or_abandon(Duration::ZERO, |event| {
                            chaos::deliver(delivery, event, |event| async move {
                                import.parse_batch(event, dead_letters).await
                            })
                        })
                        .await
                }
                Handler::FeedSubmitter => {
                    queue
                        .source
                        .poll_once_or_abandon(Duration::ZERO, |event| {
                            chaos::deliver(delivery, event, |event| async move {
                                feeds.handle_nudges(event).await
                            })
                        })
                        .await
                }
                Handler::Credentials => {
                    queue
                        .source
                        .poll_once_or_abandon(Duration::ZERO, |event| {
                            chaos::deliver(delivery, event, |event| async move {
                                credentials.take_batch(event, app_dead_letters).await
                            })
                        })
                        .await
                }
                Handler::Notifications => {
                    queue
                        .source
                        .poll_once_or_abandon(Duration::ZERO, |event| {
                            chaos::deliver(delivery, event, |event| async move {
                                notifications.take_batch(event, notification_dead_letters).await
                            })
                        })
                        .await
                }
                handler => bail!("{handler:?} is not invoked by a queue of the template"),
            }
            .with_context(|| format!("polling {}", queue.name))?;
            self.activity
                .invoked(self.queues[i].handler, u64::from(stats.received > 0));
            self.activity.messages += stats.received as u64;
            self.activity.messages_failed += stats.failed as u64;
            // The notification function takes one batch a round: in AWS it runs beside the others, and here a
            // backlog of thousands (every order change of a fast clock's days) drained in one round would stop
            // the schedules for hours of the clock. What waits is taken at the next rounds, late, as Amazon may
            // deliver it anyway. A stepped clock stands still while a round runs, so there the round takes the
            // whole backlog, as AWS's pollers would in the time the round stands for.
            if stats.received == 0 || (self.queues[i].handler == Handler::Notifications && !self.stepped) {
                return Ok(());
            }
        }
    }

    /// The enabled account schedules in the group that target the report requester: name, expression, tick.
    async fn account_schedules(&self) -> Result<Vec<(String, String, Tick)>> {
        let group = Config::require(&self.config.schedule_group, "SCHEDULE_GROUP")?;
        let requester = Config::require(&self.config.requester_arn, "REQUESTER_ARN")?;
        let mut schedules = Vec::new();
        let mut pages = self
            .stack
            .scheduler
            .list_schedules()
            .group_name(group)
            .into_paginator()
            .items()
            .send();
        while let Some(summary) = pages.next().await {
            let summary = summary.context("listing schedules")?;
            let Some(name) = summary.name else { continue };
            let schedule = self
                .stack
                .scheduler
                .get_schedule()
                .group_name(group)
                .name(&name)
                .send()
                .await
                .with_context(|| format!("reading schedule {name}"))?;
            let Some(target) = schedule.target else { continue };
            if schedule.state != Some(ScheduleState::Enabled) || target.arn != requester {
                continue;
            }
            let input = target.input.unwrap_or_default();
            let tick: Tick = serde_json::from_str(&input)
                .with_context(|| format!("schedule {name} sends {input:?}, not a tick"))?;
            let expression = schedule.schedule_expression.unwrap_or_default();
            schedules.push((name, expression, tick));
        }
        Ok(schedules)
    }
}

/// The `Globals.Function.Environment.Variables` of the template, resolved against the local resources.
fn function_environment(template: &Template, resources: &Resources) -> Result<BTreeMap<String, String>> {
    let variables = template
        .document
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping);
    let mut env = BTreeMap::new();
    // Each function's own variables join the shared ones: the runner gives every handler one configuration.
    let own = template
        .resources_of("AWS::Serverless::Function")
        .filter_map(|(_, props)| props.get("Environment")?.get("Variables")?.as_mapping())
        .flatten();
    for (name, value) in variables.into_iter().flatten().chain(own) {
        let name = name
            .as_str()
            .ok_or_else(|| anyhow!("environment variable names are strings"))?;
        // Parameters are the operator's to set (the runner sets the ones it needs itself), the local stack has no
        // KMS (local data is not encrypted with the stack's key) and no IAM (the runner names the roles).
        if let Some(target) = reference_target(value) {
            let is_parameter = template
                .document
                .get("Parameters")
                .and_then(|p| p.get(target))
                .is_some();
            let is_key_or_role = ["AWS::KMS::Key", "AWS::IAM::Role"]
                .iter()
                .any(|kind| template.resources_of(kind).any(|(id, _)| id == target));
            if is_parameter || is_key_or_role {
                continue;
            }
        }
        env.insert(name.to_owned(), resources.resolve(value)?);
    }
    Ok(env)
}

/// The logical id a `!Ref X` or `!GetAtt X.Attribute` names.
fn reference_target(value: &Value) -> Option<&str> {
    let Value::Tagged(tagged) = value else { return None };
    let argument = tagged.value.as_str()?;
    match tagged.tag.to_string().trim_start_matches('!') {
        "Ref" => Some(argument),
        "GetAtt" => argument.split('.').next(),
        _ => None,
    }
}

/// The functions' `ScheduleV2` and `SQS` events, each bound to the crate the function is built from.
fn function_events(
    template: &Template,
    resources: &Resources,
    stack: &LocalStack,
    redelivery: Duration,
) -> Result<(Vec<Scheduled>, Vec<QueueSource>, Vec<StreamMapping>)> {
    let mut scheduled = Vec::new();
    let mut queues = Vec::new();
    let mut streams = Vec::new();
    for (id, properties) in template.resources_of("AWS::Serverless::Function") {
        let crate_name = properties
            .get("CodeUri")
            .and_then(Value::as_str)
            .and_then(|uri| uri.trim_end_matches('/').rsplit('/').next())
            .ok_or_else(|| anyhow!("function {id} has no CodeUri naming its crate"))?;
        let events = properties.get("Events").and_then(Value::as_mapping);
        for (event_name, event) in events.into_iter().flatten() {
            let event_name = event_name.as_str().unwrap_or("?");
            let kind = event.get("Type").and_then(Value::as_str).unwrap_or("");
            let props = event.get("Properties");
            let handler = || {
                Handler::of_crate(crate_name)
                    .ok_or_else(|| anyhow!("the local runner has no handler for functions/{crate_name}"))
            };
            match kind {
                "ScheduleV2" | "Schedule" => {
                    let expression = props
                        .and_then(|p| p.get("ScheduleExpression"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| anyhow!("{id}.{event_name} has no ScheduleExpression"))?;
                    scheduled.push(Scheduled {
                        name: format!("{id}.{event_name}"),
                        expression: expression.to_owned(),
                        handler: handler()?,
                    });
                }
                "SQS" => {
                    let queue_arn = resources.resolve(
                        props
                            .and_then(|p| p.get("Queue"))
                            .ok_or_else(|| anyhow!("{id}.{event_name} has no Queue"))?,
                    )?;
                    let (queue_id, _) = resources
                        .arns
                        .iter()
                        .find(|(_, arn)| **arn == queue_arn)
                        .ok_or_else(|| anyhow!("{id}.{event_name}: no local queue {queue_arn}"))?;
                    let batch_size = props
                        .and_then(|p| p.get("BatchSize"))
                        .and_then(Value::as_i64)
                        .unwrap_or(10);
                    queues.push(QueueSource {
                        name: format!("{id}.{event_name}"),
                        source: SqsSource::new(
                            stack.sqs.clone(),
                            resources.get(queue_id)?,
                            queue_arn.clone(),
                            batch_size as i32,
                            redelivery,
                        ),
                        handler: handler()?,
                    });
                }
                "DynamoDB" => {
                    if handler()? != Handler::Publisher {
                        bail!("{id}.{event_name}: only the event publisher reads table streams");
                    }
                    let table = props
                        .and_then(|p| p.get("Stream"))
                        .and_then(reference_target)
                        .ok_or_else(|| anyhow!("{id}.{event_name} has no Stream of a table"))?;
                    let batch_size = props
                        .and_then(|p| p.get("BatchSize"))
                        .and_then(Value::as_i64)
                        .unwrap_or(100);
                    streams.push((StreamSource::new(stack, resources.get(table)?), batch_size as i32));
                }
                _ => {}
            }
        }
    }
    Ok((scheduled, queues, streams))
}
