//! The local AWS stack as tests and the local runner see it: SDK clients pointed at DynamoDB Local and moto,
//! and the resources of `infra/template.yaml` created there, so local and cloud resources cannot drift apart.
//!
//! The servers themselves are started and stopped by `tests/local-stack.sh`; this module only connects to them
//! through the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_DYNAMODB` variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use serde_norway::Value;

/// Account id the local stack reports in ARNs (moto's default).
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// A name prefix no other test of this run uses: tests share one local stack and keep apart by prefix.
pub fn unique_prefix(label: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{label}{}x{}x{}",
        std::process::id(),
        nanos % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// SDK clients connected to the local stack.
#[derive(Debug, Clone)]
pub struct LocalStack {
    /// Shared SDK configuration (endpoints from the environment, static local credentials).
    pub sdk: aws_config::SdkConfig,
    /// Where DynamoDB Local (and its streams) answers.
    pub dynamodb_endpoint: String,
    /// The DynamoDB Local this stack started for itself, stopped when the last clone is dropped.
    own_dynamodb: Option<Arc<OwnDynamoDb>>,
    /// DynamoDB Local.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// moto's SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// moto's EventBridge Scheduler.
    pub scheduler: aws_sdk_scheduler::Client,
    /// moto's Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// moto's S3 (path-style, as the functions address it locally).
    pub s3: aws_sdk_s3::Client,
    /// moto's EventBridge.
    pub events: aws_sdk_eventbridge::Client,
}

impl LocalStack {
    /// Connects to the stack that `tests/local-stack.sh start` started, or explains how to start one.
    pub async fn from_env() -> Result<LocalStack> {
        Self::check_env()?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .test_credentials()
            .load()
            .await;
        Ok(Self::with_sdk(
            sdk,
            std::env::var("AWS_ENDPOINT_URL_DYNAMODB")?,
            None,
        ))
    }

    /// As [`LocalStack::from_env`], with a DynamoDB Local of its own (started now, stopped when the stack is
    /// dropped) in place of the shared one. For the tests paced by the wall clock: the shared DynamoDB Local
    /// slows down for good as the suite's streams fill it (300 conditional puts took 1.6 s on a fresh one and
    /// 10.6 s after two end-to-end imports, and deleting the tables does not give the time back), so a runner
    /// on it gets a fraction of its rounds.
    pub async fn with_own_dynamodb() -> Result<LocalStack> {
        let shared = Self::from_env().await?;
        let own = OwnDynamoDb::start().await?;
        let endpoint = own.endpoint.clone();
        let sdk = shared
            .sdk
            .to_builder()
            .service_config(DynamoDbAt {
                endpoint: endpoint.clone(),
                rest: shared.sdk.clone(),
            })
            .build();
        Ok(Self::with_sdk(sdk, endpoint, Some(Arc::new(own))))
    }

    /// That the environment points at a local stack on loopback, or how to start one.
    fn check_env() -> Result<()> {
        for var in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"] {
            let value = std::env::var(var).map_err(|_| {
                anyhow!(
                    "{var} is not set: these tests need the local AWS stack. Run them with tests/run-tests.sh, \
                     or start it with tests/local-stack.sh start and source .local/stack/env"
                )
            })?;
            if !value.starts_with("http://127.0.0.1") && !value.starts_with("http://localhost") {
                bail!("{var}={value} is not a loopback address; tests never talk to real AWS");
            }
        }
        Ok(())
    }

    /// Every service's client from one SDK configuration.
    fn with_sdk(
        sdk: aws_config::SdkConfig,
        dynamodb_endpoint: String,
        own_dynamodb: Option<Arc<OwnDynamoDb>>,
    ) -> LocalStack {
        LocalStack {
            dynamodb_endpoint,
            own_dynamodb,
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            scheduler: aws_sdk_scheduler::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            s3: shared::runtime::s3_client(&sdk),
            events: aws_sdk_eventbridge::Client::new(&sdk),
            sdk,
        }
    }

    /// Clients of this stack reached through `endpoint` (a proxy in front of it, such as the chaos run's), for
    /// every service alike; streams are still read from DynamoDB Local itself.
    pub async fn through(&self, endpoint: &str) -> Result<LocalStack> {
        if !endpoint.starts_with("http://127.0.0.1") {
            bail!("{endpoint} is not a loopback address; tests never talk to real AWS");
        }
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .test_credentials()
            .endpoint_url(endpoint)
            .load()
            .await;
        Ok(Self::with_sdk(
            sdk,
            self.dynamodb_endpoint.clone(),
            self.own_dynamodb.clone(),
        ))
    }

    /// Creates every table, queue, bucket and schedule group of `template` under names starting with `prefix`,
    /// dead-letter queues first.
    pub async fn provision(&self, template: &Template, prefix: &str) -> Result<Resources> {
        let mut resources = Resources {
            prefix: prefix.to_owned(),
            refs: BTreeMap::new(),
            arns: BTreeMap::new(),
        };
        for (id, properties) in template.resources_of("AWS::DynamoDB::Table") {
            let name = format!("{prefix}-{id}");
            self.create_table(&name, properties)
                .await
                .with_context(|| format!("creating table {id}"))?;
            resources.arns.insert(
                id.to_owned(),
                format!("arn:aws:dynamodb:us-east-1:{LOCAL_ACCOUNT}:table/{name}"),
            );
            resources.refs.insert(id.to_owned(), name);
        }
        // Queues named in another queue's redrive policy are created first so their ARNs can be resolved.
        let mut queues: Vec<(&str, &Value)> = template.resources_of("AWS::SQS::Queue").collect();
        queues.sort_by_key(|(_, props)| props.get("RedrivePolicy").is_some());
        for (id, properties) in queues {
            self.create_queue(id, properties, &mut resources)
                .await
                .with_context(|| format!("creating queue {id}"))?;
        }
        for (id, _) in template.resources_of("AWS::S3::Bucket") {
            // Bucket names are lower case; CloudFormation names the stack's buckets itself.
            let name = format!("{prefix}-{id}").to_lowercase();
            self.s3
                .create_bucket()
                .bucket(&name)
                .send()
                .await
                .with_context(|| format!("creating bucket {id}"))?;
            resources
                .arns
                .insert(id.to_owned(), format!("arn:aws:s3:::{name}"));
            resources.refs.insert(id.to_owned(), name);
        }
        for (id, properties) in template.resources_of("AWS::Events::EventBus") {
            let name = match properties.get("Name") {
                Some(name) => resources.resolve(name)?,
                None => format!("{prefix}-{id}"),
            };
            self.events
                .create_event_bus()
                .name(&name)
                .send()
                .await
                .with_context(|| format!("creating event bus {id}"))?;
            resources.arns.insert(
                id.to_owned(),
                format!("arn:aws:events:us-east-1:{LOCAL_ACCOUNT}:event-bus/{name}"),
            );
            resources.refs.insert(id.to_owned(), name);
        }
        for (id, properties) in template.resources_of("AWS::Scheduler::ScheduleGroup") {
            // The stack name is the prefix locally, so `!Sub ${AWS::StackName}-accounts` names it as in the cloud.
            let name = match properties.get("Name") {
                Some(name) => resources.resolve(name)?,
                None => format!("{prefix}-{id}"),
            };
            self.scheduler.create_schedule_group().name(&name).send().await?;
            resources.arns.insert(
                id.to_owned(),
                format!("arn:aws:scheduler:us-east-1:{LOCAL_ACCOUNT}:schedule-group/{name}"),
            );
            resources.refs.insert(id.to_owned(), name);
        }
        Ok(resources)
    }

    async fn create_table(&self, name: &str, props: &Value) -> Result<()> {
        let mut request = self
            .dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest);
        for def in seq(props, "AttributeDefinitions")? {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(string(def, "AttributeName")?)
                    .attribute_type(ScalarAttributeType::from(string(def, "AttributeType")?.as_str()))
                    .build()?,
            );
        }
        for key in key_schema(props)? {
            request = request.key_schema(key);
        }
        if let Some(indexes) = props.get("GlobalSecondaryIndexes") {
            for index in indexes.as_sequence().into_iter().flatten() {
                let mut gsi = GlobalSecondaryIndex::builder()
                    .index_name(string(index, "IndexName")?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build());
                for key in key_schema(index)? {
                    gsi = gsi.key_schema(key);
                }
                request = request.global_secondary_indexes(gsi.build()?);
            }
        }
        if let Some(stream) = props.get("StreamSpecification") {
            request = request.stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::from(
                        string(stream, "StreamViewType")?.as_str(),
                    ))
                    .build()?,
            );
        }
        request.send().await?;
        if let Some(ttl) = props.get("TimeToLiveSpecification") {
            self.dynamodb
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(string(ttl, "AttributeName")?)
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await?;
        }
        Ok(())
    }

    async fn create_queue(&self, id: &str, props: &Value, resources: &mut Resources) -> Result<()> {
        let fifo = props.get("FifoQueue").and_then(Value::as_bool).unwrap_or(false);
        let name = format!("{}-{id}{}", resources.prefix, if fifo { ".fifo" } else { "" });
        let mut request = self.sqs.create_queue().queue_name(&name);
        for (key, attribute) in [
            ("FifoQueue", QueueAttributeName::FifoQueue),
            (
                "ContentBasedDeduplication",
                QueueAttributeName::ContentBasedDeduplication,
            ),
            ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
            (
                "MessageRetentionPeriod",
                QueueAttributeName::MessageRetentionPeriod,
            ),
        ] {
            if let Some(value) = props.get(key) {
                request = request.attributes(attribute, scalar(value)?);
            }
        }
        if let Some(redrive) = props.get("RedrivePolicy") {
            let target = redrive
                .get("deadLetterTargetArn")
                .ok_or_else(|| anyhow!("no deadLetterTargetArn"))?;
            let policy = serde_json::json!({
                "deadLetterTargetArn": resources.resolve(target)?,
                "maxReceiveCount": scalar(redrive.get("maxReceiveCount").unwrap_or(&Value::from(5)))?,
            });
            request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let url = request
            .send()
            .await?
            .queue_url
            .ok_or_else(|| anyhow!("no queue URL returned"))?;
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| anyhow!("no queue ARN returned"))?;
        resources.refs.insert(id.to_owned(), url);
        resources.arns.insert(id.to_owned(), arn);
        Ok(())
    }
}

/// `infra/template.yaml`, parsed, with CloudFormation's short tags (`!Ref`, `!GetAtt`, `!Sub`) kept as tags.
#[derive(Debug, Clone)]
pub struct Template {
    /// The whole document.
    pub document: Value,
}

impl Template {
    /// The template in this repository.
    pub fn path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
    }

    /// Reads and parses the repository's template.
    pub fn load() -> Result<Template> {
        let path = Template::path();
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Template::parse(&text)
    }

    /// Parses a template's text.
    pub fn parse(text: &str) -> Result<Template> {
        Ok(Template {
            document: serde_norway::from_str(text).context("parsing the SAM template")?,
        })
    }

    /// Logical ids and properties of every resource of one CloudFormation type.
    pub fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.document
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .filter_map(|(id, r)| Some((id.as_str()?, r.get("Properties")?)))
    }
}

/// Physical names of the resources created locally, keyed by logical id.
#[derive(Debug, Clone)]
pub struct Resources {
    /// Prefix of every physical name.
    pub prefix: String,
    /// What `!Ref` gives for each resource: a table's name, a queue's URL.
    pub refs: BTreeMap<String, String>,
    /// What `!GetAtt <id>.Arn` gives.
    pub arns: BTreeMap<String, String>,
}

impl Resources {
    /// `!Ref` of a logical id.
    pub fn get(&self, id: &str) -> Result<&str> {
        self.refs
            .get(id)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("no local resource {id}"))
    }

    /// Resolves a template value: a plain scalar, `!Ref`, `!GetAtt X.Arn` or `!Sub` over those.
    pub fn resolve(&self, value: &Value) -> Result<String> {
        let Value::Tagged(tagged) = value else {
            return scalar(value);
        };
        let arg = tagged
            .value
            .as_str()
            .ok_or_else(|| anyhow!("unsupported tag argument {value:?}"))?;
        match tagged.tag.to_string().trim_start_matches('!') {
            "Ref" => self.pseudo(arg).or_else(|| self.refs.get(arg).cloned()),
            "GetAtt" => arg.strip_suffix(".Arn").and_then(|id| self.arns.get(id).cloned()),
            "Sub" => Some(self.substitute(arg)?),
            _ => None,
        }
        .ok_or_else(|| anyhow!("cannot resolve {value:?} locally"))
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        Some(
            match name {
                "AWS::Region" => "us-east-1",
                "AWS::AccountId" => LOCAL_ACCOUNT,
                "AWS::Partition" => "aws",
                "AWS::StackName" => &self.prefix,
                _ => return None,
            }
            .to_owned(),
        )
    }

    fn substitute(&self, text: &str) -> Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| anyhow!("unclosed ${{ in {text}"))?
                + start;
            out.push_str(&rest[..start]);
            let name = &rest[start + 2..end];
            let value = match name.strip_suffix(".Arn") {
                Some(id) => self.arns.get(id).cloned(),
                None => self.pseudo(name).or_else(|| self.refs.get(name).cloned()),
            };
            out.push_str(&value.ok_or_else(|| anyhow!("cannot resolve ${{{name}}} locally"))?);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn key_schema(props: &Value) -> Result<Vec<KeySchemaElement>> {
    seq(props, "KeySchema")?
        .iter()
        .map(|key| {
            Ok(KeySchemaElement::builder()
                .attribute_name(string(key, "AttributeName")?)
                .key_type(KeyType::from(string(key, "KeyType")?.as_str()))
                .build()?)
        })
        .collect()
}

fn seq<'a>(value: &'a Value, key: &str) -> Result<&'a Vec<Value>> {
    value
        .get(key)
        .and_then(Value::as_sequence)
        .ok_or_else(|| anyhow!("{key} is missing or not a list"))
}

fn string(value: &Value, key: &str) -> Result<String> {
    scalar(value.get(key).ok_or_else(|| anyhow!("{key} is missing"))?)
}

fn scalar(value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => bail!("expected a plain value, got {other:?}"),
    }
}

/// The SDK's per-service configuration with DynamoDB's endpoint replaced (the environment's
/// `AWS_ENDPOINT_URL_DYNAMODB`, as the SDK reads it) and everything else as `rest` has it.
#[derive(Debug)]
struct DynamoDbAt {
    endpoint: String,
    rest: aws_config::SdkConfig,
}

impl LoadServiceConfig for DynamoDbAt {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.service_id() == "DynamoDB" && key.profile() == "endpoint_url" {
            return Some(self.endpoint.clone());
        }
        self.rest.service_config()?.load_config(key)
    }
}

/// A DynamoDB Local run by `tests/local-stack.sh dynamodb PORT` for one process, killed on drop.
#[derive(Debug)]
struct OwnDynamoDb {
    endpoint: String,
    server: std::process::Child,
}

impl OwnDynamoDb {
    async fn start() -> Result<OwnDynamoDb> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
            .local_addr()?
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("local-stack.sh");
        let server = std::process::Command::new("bash")
            .arg(&script)
            .arg("dynamodb")
            .arg(port.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} dynamodb {port}", script.display()))?;
        let mut own = OwnDynamoDb {
            endpoint: format!("http://127.0.0.1:{port}"),
            server,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = own.server.try_wait()? {
                bail!("DynamoDB Local on port {port} exited at start ({status})");
            }
            if std::time::Instant::now() > deadline {
                bail!("DynamoDB Local on port {port} did not answer within 60 s");
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(own)
    }
}

impl Drop for OwnDynamoDb {
    fn drop(&mut self) {
        // The script execs the JVM: the child is the server itself.
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
