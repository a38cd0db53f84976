//! infra/template.yaml keeps the deployment's promises: a function per crate, a dead-letter queue and an alarm
//! behind every queue, policies that name their own resources, tables that survive mistakes, and settings whose
//! names the code reads. Reads the template as written (before SAM's transform), with tests::stack::Template.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_norway::Value;
use shared::config::Config;
use tests::stack::Template;

fn template() -> Template {
    Template::load().unwrap()
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The crates in functions/, from the directory itself, so a new crate is checked the moment it exists.
fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(repository().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// `poll-reports` -> `PollReports`: the logical-id stem of a crate's function, role, log group and alarm.
fn stem(crate_name: &str) -> String {
    crate_name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// Every resource: logical id -> the whole resource (type, metadata, properties).
fn resources(template: &Template) -> BTreeMap<String, &Value> {
    template.document["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(id, resource)| (id.as_str().unwrap().to_owned(), resource))
        .collect()
}

fn of_type<'a>(template: &'a Template, kind: &str) -> BTreeMap<String, &'a Value> {
    resources(template)
        .into_iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .collect()
}

/// A short-form intrinsic (`!Ref X`) as its name (`Ref`) and argument.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_owned(),
            &tagged.value,
        )),
        _ => None,
    }
}

/// `!Ref X` -> X; `!GetAtt X.Attr` -> X.
fn referenced(value: &Value) -> Option<String> {
    let (name, argument) = intrinsic(value)?;
    let argument = argument.as_str()?;
    match name.as_str() {
        "Ref" => Some(argument.to_owned()),
        "GetAtt" => argument.split('.').next().map(str::to_owned),
        _ => None,
    }
}

fn is_ref_to(value: &Value, id: &str) -> bool {
    referenced(value).as_deref() == Some(id)
}

fn functions(template: &Template) -> BTreeMap<String, &Value> {
    of_type(template, "AWS::Serverless::Function")
}

fn alarms(template: &Template) -> Vec<&Value> {
    of_type(template, "AWS::CloudWatch::Alarm")
        .into_values()
        .map(|alarm| &alarm["Properties"])
        .collect()
}

fn dimension<'a>(alarm: &'a Value, name: &str) -> Option<&'a Value> {
    alarm["Dimensions"]
        .as_sequence()?
        .iter()
        .find(|d| d["Name"].as_str() == Some(name))
        .map(|d| &d["Value"])
}

#[test]
fn every_function_crate_has_a_function_and_every_function_a_crate() {
    let template = template();
    let crates = function_crates();
    assert!(!crates.is_empty(), "no crates found in functions/");

    let mut built = BTreeSet::new();
    for (id, function) in functions(&template) {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names no Binary in Metadata.BuildProperties"));
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        assert_eq!(id, format!("{}Function", stem(binary)), "{binary}'s function id");
        assert_eq!(
            function["Properties"]["CodeUri"],
            format!("../functions/{binary}"),
            "{id} builds from its own crate"
        );
        assert!(
            crates.contains(binary),
            "{id} builds {binary}, which is not a crate in functions/"
        );
        built.insert(binary.to_owned());
    }
    let missing: Vec<String> = crates
        .difference(&built)
        .map(|name| {
            format!(
                "functions/{name} (add {}Function, Role, LogGroup and ErrorsAlarm)",
                stem(name)
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "crates without a function in infra/template.yaml: {missing:?}"
    );
}

#[test]
fn functions_run_on_arm64_al2023_with_json_logs_in_their_own_log_group_and_role() {
    let template = template();
    let globals = &template.document["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(
        globals["Architectures"],
        serde_norway::from_str::<Value>("[arm64]").unwrap()
    );
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");

    let roles = of_type(&template, "AWS::IAM::Role");
    let log_groups = of_type(&template, "AWS::Logs::LogGroup");
    for (id, function) in functions(&template) {
        let properties = &function["Properties"];
        for global in ["Runtime", "Architectures", "Handler"] {
            assert!(
                properties.get(global).is_none(),
                "{id} overrides the global {global}"
            );
        }
        let stem = id.trim_end_matches("Function");
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let (_, name) = intrinsic(&properties["FunctionName"]).expect("FunctionName is a !Sub");
        assert_eq!(
            name.as_str(),
            Some(format!("${{AWS::StackName}}-{binary}").as_str()),
            "{id}"
        );

        // An explicit role: SAM's generated one would attach AWSLambdaBasicExecutionRole, logs on "*".
        let role = format!("{stem}Role");
        assert!(
            is_ref_to(&properties["Role"], &role),
            "{id} has its own role {role}"
        );
        assert!(roles.contains_key(&role), "{role} is not an AWS::IAM::Role");
        assert!(
            properties.get("Policies").is_none(),
            "{id}: permissions belong in {role}"
        );

        let log_group = format!("{stem}LogGroup");
        assert!(
            is_ref_to(&properties["LoggingConfig"]["LogGroup"], &log_group),
            "{id} logs to {log_group}"
        );
        let group = &log_groups
            .get(&log_group)
            .unwrap_or_else(|| panic!("{log_group} is not an AWS::Logs::LogGroup"))["Properties"];
        assert!(
            group.get("RetentionInDays").is_some(),
            "{log_group} keeps logs forever"
        );
    }
}

#[test]
fn every_queue_has_a_dead_letter_queue_and_every_dead_letter_queue_an_alarm() {
    let template = template();
    let queues = of_type(&template, "AWS::SQS::Queue");
    let alarms = alarms(&template);
    let dead_letter_queues: BTreeSet<&String> = queues
        .keys()
        .filter(|id| id.ends_with("DeadLetterQueue"))
        .collect();
    assert!(!dead_letter_queues.is_empty());

    for (id, queue) in &queues {
        let properties = &queue["Properties"];
        if dead_letter_queues.contains(id) {
            assert_eq!(
                properties["MessageRetentionPeriod"], 1_209_600,
                "{id} keeps dead letters the longest SQS allows (14 days)"
            );
            continue;
        }
        let target = &properties["RedrivePolicy"]["deadLetterTargetArn"];
        let dlq = referenced(target).unwrap_or_else(|| panic!("queue {id} has no dead-letter queue"));
        assert!(
            dead_letter_queues.contains(&dlq),
            "{id} redrives to {dlq}, not a *DeadLetterQueue"
        );
        let fifo = |p: &Value| p["FifoQueue"].as_bool().unwrap_or(false);
        assert_eq!(
            fifo(properties),
            fifo(&queues[&dlq]["Properties"]),
            "{id} and {dlq} are both FIFO or not"
        );
        assert!(
            properties["RedrivePolicy"]["maxReceiveCount"].as_u64().is_some(),
            "{id}"
        );
    }

    for dlq in dead_letter_queues {
        let watched = alarms.iter().any(|alarm| {
            alarm["Namespace"] == "AWS/SQS"
                && alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
                && dimension(alarm, "QueueName").is_some_and(|v| is_ref_to(v, dlq))
                && alarm["Threshold"] == 0
        });
        assert!(watched, "no alarm on the depth of {dlq}");
    }
}

#[test]
fn the_parse_queue_dead_letters_after_the_deliveries_the_parser_counts_on() {
    let template = template();
    let parse_queue = &resources(&template)["ParseQueue"]["Properties"];
    assert_eq!(
        parse_queue["RedrivePolicy"]["maxReceiveCount"].as_u64(),
        Some(u64::from(shared::runtime::PARSE_MAX_RECEIVES))
    );
}

/// Every IAM statement's resources and actions outside KMS key policies, where `"*"` means the key itself.
fn statements(template: &Template) -> Vec<(String, &Value)> {
    fn collect<'a>(owner: &str, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
        match value {
            Value::Mapping(mapping) => {
                for (key, child) in mapping {
                    if key.as_str() == Some("Statement") {
                        for statement in child.as_sequence().into_iter().flatten() {
                            out.push((owner.to_owned(), statement));
                        }
                    } else {
                        collect(owner, child, out);
                    }
                }
            }
            Value::Sequence(items) => items.iter().for_each(|item| collect(owner, item, out)),
            Value::Tagged(tagged) => collect(owner, &tagged.value, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (id, resource) in resources(template) {
        if resource["Type"] != "AWS::KMS::Key" {
            collect(&id, resource, &mut out);
        }
    }
    out
}

#[test]
fn no_policy_grants_every_resource_or_every_action() {
    let template = template();
    let parameters: BTreeSet<String> = template.document["Parameters"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(name, _)| name.as_str().map(str::to_owned))
        .collect();
    let ids: BTreeSet<String> = resources(&template).into_keys().collect();
    let own = |name: &str| name == "AWS::StackName" || ids.contains(name) || parameters.contains(name);

    let statements = statements(&template);
    assert!(
        statements.len() > 10,
        "found only {} statements",
        statements.len()
    );
    for (owner, statement) in statements {
        let sid = statement["Sid"].as_str().unwrap_or("(no Sid)");
        assert!(
            statement.get("NotResource").is_none() && statement.get("NotAction").is_none(),
            "{owner} {sid}"
        );
        let actions: Vec<&Value> = match &statement["Action"] {
            Value::Sequence(items) => items.iter().collect(),
            one => vec![one],
        };
        // A Deny may be as broad as it likes (TLS only, for every action); an Allow names its actions.
        let denies = statement["Effect"].as_str() == Some("Deny");
        for action in actions {
            let action = action
                .as_str()
                .unwrap_or_else(|| panic!("{owner} {sid}: action {action:?}"));
            assert!(
                denies || (action != "*" && !action.ends_with(":*")),
                "{owner} {sid} allows {action}"
            );
        }
        let Some(resource) = statement.get("Resource") else {
            // Trust policies name a principal, not a resource.
            assert!(statement.get("Principal").is_some(), "{owner} {sid} has neither");
            continue;
        };
        let resources: Vec<&Value> = match resource {
            Value::Sequence(items) => items.iter().collect(),
            one => vec![one],
        };
        for resource in resources {
            let names_own = match intrinsic(resource) {
                Some((name, _)) if name == "Ref" || name == "GetAtt" => {
                    referenced(resource).is_some_and(|id| own(&id))
                }
                Some((name, text)) if name == "Sub" => {
                    let text = text.as_str().unwrap_or_default();
                    let fields: Vec<&str> = text.split(':').collect();
                    // arn:partition:service:region:account:...: never any region or account.
                    let scoped = fields.len() < 5 || (fields[3] != "*" && fields[4] != "*");
                    let placeholders = text.split("${").skip(1).filter_map(|p| p.split('}').next());
                    scoped && placeholders.map(|p| p.split('.').next().unwrap_or(p)).any(own)
                }
                _ => false,
            };
            assert!(
                names_own,
                "{owner} {sid}: resource {resource:?} does not name a resource of this stack"
            );
        }
    }
}

#[test]
fn every_table_is_on_demand_with_point_in_time_recovery_encryption_and_retention() {
    let template = template();
    let tables = of_type(&template, "AWS::DynamoDB::Table");
    assert!(tables.len() >= 2);
    for (id, table) in &tables {
        let properties = &table["Properties"];
        assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST", "{id}");
        assert_eq!(
            properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
            "{id} has point-in-time recovery"
        );
        let sse = &properties["SSESpecification"];
        assert_eq!(sse["SSEEnabled"], true, "{id} is encrypted");
        assert_eq!(sse["SSEType"], "KMS", "{id}");
        assert!(
            is_ref_to(&sse["KMSMasterKeyId"], "DataKey"),
            "{id} uses the stack's key"
        );
        // Deleting the stack (or a replacement) must never delete sellers' orders.
        assert_eq!(table["DeletionPolicy"], "RetainExceptOnCreate", "{id}");
        assert_eq!(table["UpdateReplacePolicy"], "Retain", "{id}");
    }
    assert_eq!(
        resources(&template)["DataKey"]["DeletionPolicy"],
        "RetainExceptOnCreate"
    );
    // Buyer PII expires through TTL on the attribute DynamoOrderStore writes (adapters/dynamo/orders.rs).
    let ttl = &tables["OrdersTable"]["Properties"]["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"], "expires_at");
    assert_eq!(ttl["Enabled"], true);
}

#[test]
fn every_function_has_an_errors_alarm_and_every_alarm_reaches_the_alarm_topic() {
    let template = template();
    let alarms = alarms(&template);
    for id in functions(&template).keys() {
        let watched = alarms.iter().any(|alarm| {
            alarm["Namespace"] == "AWS/Lambda"
                && alarm["MetricName"] == "Errors"
                && dimension(alarm, "FunctionName").is_some_and(|v| is_ref_to(v, id))
        });
        assert!(watched, "no errors alarm on {id}");
    }
    for alarm in &alarms {
        let name = format!("{:?}", alarm["AlarmName"]);
        for actions in ["AlarmActions", "OKActions"] {
            let notifies = alarm[actions]
                .as_sequence()
                .is_some_and(|a| a.iter().any(|action| is_ref_to(action, "AlarmTopic")));
            assert!(notifies, "{name}: {actions} do not reach AlarmTopic");
        }
        assert!(
            alarm["AlarmDescription"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }
    let topic = &resources(&template)["AlarmTopic"]["Properties"];
    let subscription = &topic["Subscription"][0];
    assert_eq!(subscription["Protocol"], "email");
    assert!(is_ref_to(&subscription["Endpoint"], "AlarmEmail"));
}

#[test]
fn alarms_on_sellersync_metrics_watch_names_the_code_emits_on_the_stack_series() {
    let emitted = [
        shared::metrics::SP_API_THROTTLED,
        shared::metrics::ACCOUNT_DISCONNECTED,
        shared::metrics::IMPORT_OVERDUE,
        shared::metrics::FEED_MESSAGES_REJECTED,
        shared::metrics::OLDEST_QUEUED_FEED_ACTION,
        shared::metrics::STUCK_FEED_SUBMISSION_AGE,
        shared::metrics::LWA_SECRET_DAYS_LEFT,
        shared::metrics::LWA_ROTATION_FAILED,
        shared::metrics::NOTIFICATIONS_DEFERRED,
    ];
    let template = template();
    let mut watched = BTreeSet::new();
    for alarm in alarms(&template) {
        if alarm["Namespace"] != shared::metrics::NAMESPACE {
            continue;
        }
        let metric = alarm["MetricName"].as_str().unwrap();
        assert!(
            emitted.contains(&metric),
            "alarm on {metric}, which shared::metrics does not define"
        );
        let dimensions = alarm["Dimensions"].as_sequence().unwrap();
        assert_eq!(dimensions.len(), 1, "{metric}: the Stack series only");
        assert!(is_ref_to(&dimensions[0]["Value"], "AWS::StackName"), "{metric}");
        assert_eq!(dimensions[0]["Name"], "Stack");
        watched.insert(metric);
    }
    assert_eq!(
        watched,
        emitted.into_iter().collect(),
        "every alarm metric is watched"
    );
}

#[test]
fn sqs_event_sources_report_batch_item_failures_in_batches_of_at_most_ten() {
    let template = template();
    let mut sources = 0;
    for (id, function) in functions(&template) {
        for (name, event) in function["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"] != "SQS" {
                continue;
            }
            sources += 1;
            let properties = &event["Properties"];
            assert_eq!(
                properties["FunctionResponseTypes"],
                serde_norway::from_str::<Value>("[ReportBatchItemFailures]").unwrap(),
                "{id} {name:?}"
            );
            let batch = properties["BatchSize"].as_u64().unwrap_or(10);
            assert!((1..=10).contains(&batch), "{id} {name:?} batch size {batch}");
        }
    }
    assert!(sources >= 1);
}

#[test]
fn the_feed_submitter_is_kept_to_one_run_by_its_lease_not_by_throttling() {
    let template = template();
    let submitter = &functions(&template)["SubmitFeedsFunction"]["Properties"];
    assert!(
        submitter.get("ReservedConcurrentExecutions").is_none(),
        "reserved concurrency makes Lambda throttle the queue's batches, which dead-letters nudges"
    );
    let timeout = submitter["Timeout"].as_i64().expect("a timeout");
    assert!(
        shared::app::feeds::SUBMITTER_LEASE_TIME.num_seconds() > timeout,
        "a live run never loses its lease"
    );
    let queue_source = &submitter["Events"]["Actions"]["Properties"];
    assert_eq!(queue_source["ScalingConfig"]["MaximumConcurrency"], 2);
}

#[test]
fn a_batch_of_notifications_waits_for_its_get_order_tokens_within_the_functions_timeout() {
    let template = template();
    let function = &functions(&template)["TakeNotificationsFunction"]["Properties"];
    let timeout = std::time::Duration::from_secs(function["Timeout"].as_u64().expect("a timeout"));
    let batch = function["Events"]["Notifications"]["Properties"]["BatchSize"]
        .as_u64()
        .unwrap_or(10);
    let waits = shared::app::notifications::ORDER_TOKEN_WAIT * u32::try_from(batch).unwrap();
    // A third of the timeout is left for the calls themselves (each message's getOrder and stores).
    assert!(
        waits * 3 <= timeout * 2,
        "{batch} messages waiting {:?} each take {waits:?} of the {timeout:?} timeout",
        shared::app::notifications::ORDER_TOKEN_WAIT
    );
}

#[test]
fn the_shared_environment_sets_every_setting_config_reads() {
    let template = template();
    let variables = template.document["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    let names: BTreeSet<String> = variables
        .iter()
        .map(|(name, _)| name.as_str().unwrap().to_owned())
        .collect();
    // Values are resolved by CloudFormation; only the names matter here.
    let config = Config::from_lookup(|name| names.contains(name).then(|| format!("set-{name}"))).unwrap();
    for (name, value) in [
        ("PARSE_QUEUE_URL", &config.parse_queue_url),
        ("PARSE_DLQ_URL", &config.parse_dlq_url),
        ("FEED_QUEUE_URL", &config.feed_queue_url),
        ("FEED_DLQ_URL", &config.feed_dlq_url),
        ("SCHEDULE_GROUP", &config.schedule_group),
        ("REQUESTER_ARN", &config.requester_arn),
        ("SCHEDULER_ROLE_ARN", &config.scheduler_role_arn),
        ("SCHEDULE_DLQ_ARN", &config.schedule_dlq_arn),
        ("DATA_KEY_ID", &config.data_key_id),
    ] {
        assert_eq!(value.as_deref(), Some(format!("set-{name}").as_str()), "{name}");
    }
    assert_eq!(config.account_secret_prefix, "set-ACCOUNT_SECRET_PREFIX");
    assert_eq!(config.stack_name, "set-STACK_NAME");
    // The report requester's ARN is built from its name, which must match the function's.
    let requester = intrinsic(&variables[&Value::from("REQUESTER_ARN")])
        .and_then(|(_, text)| text.as_str())
        .unwrap();
    assert!(
        requester.ends_with(":function:${AWS::StackName}-request-reports"),
        "{requester}"
    );
}

/// `sam build`'s output (tests/infra-check.sh build, which CI runs before the tests).
#[test]
fn sam_build_produced_an_arm64_bootstrap_for_every_function() {
    let build = repository().join(".aws-sam/build");
    if !build.join("template.yaml").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs tests/infra-check.sh build before the tests, but there is no {}",
            build.display()
        );
        eprintln!("skipped: no sam build output; run tests/infra-check.sh build");
        return;
    }
    for id in functions(&template()).keys() {
        let bootstrap = build.join(id).join("bootstrap");
        let bytes = std::fs::read(&bootstrap)
            .unwrap_or_else(|e| panic!("{}: {e} (run tests/infra-check.sh build)", bootstrap.display()));
        assert_eq!(
            &bytes[..4],
            b"\x7fELF",
            "{id}: bootstrap is not an ELF executable"
        );
        // e_machine, little-endian at offset 18: 0xB7 is AArch64.
        assert_eq!(
            u16::from_le_bytes([bytes[18], bytes[19]]),
            0xB7,
            "{id}: bootstrap is not arm64"
        );
    }
}

/// The dashboard's body, `${...}` references left as written.
fn dashboard_body(template: &Template) -> String {
    let body = &resources(template)["Dashboard"]["Properties"]["DashboardBody"];
    let (name, text) = intrinsic(body).expect("DashboardBody is a !Sub");
    assert_eq!(name, "Sub");
    text.as_str().unwrap().to_owned()
}

#[test]
fn the_dashboard_shows_every_alarm_every_function_and_every_watched_sellersync_metric() {
    let template = template();
    let body = dashboard_body(&template);
    // Valid JSON once the substitutions are filled in (none of them sits outside a string).
    let filled = body.replace("${", "{");
    serde_json::from_str::<serde_json::Value>(&filled).expect("dashboard body is JSON");
    for id in of_type(&template, "AWS::CloudWatch::Alarm").keys() {
        assert!(
            body.contains(&format!("${{{id}.Arn}}")),
            "alarm {id} is not on the dashboard"
        );
    }
    for id in functions(&template).keys() {
        for widget in ["Function errors", "Function duration p99 (ms)"] {
            let start = body.find(widget).unwrap_or_else(|| panic!("no widget {widget}"));
            let end = body[start..].find("]]}}").map_or(body.len(), |e| start + e);
            assert!(
                body[start..end].contains(&format!("\"${{{id}}}\"")),
                "{id} is missing from the widget {widget}"
            );
        }
    }
    for alarm in alarms(&template) {
        if alarm["Namespace"] == "sellersync" {
            let metric = alarm["MetricName"].as_str().unwrap();
            // A metric of its own, or a SEARCH expression's `MetricName=\"...\"`.
            let charted =
                body.contains(&format!("\"{metric}\"")) || body.contains(&format!("\\\"{metric}\\\""));
            assert!(charted, "{metric} is not charted");
        }
    }
}

/// The tables whose changes become events: their streams carry both images, and each is read by a mapping that
/// reports partial failures, bisects, gives up after a bounded number of retries into a dead-letter queue, and
/// keeps one batch per shard in flight (an order's versions in order).
#[test]
fn table_streams_reach_the_event_publisher_with_partial_failures_retries_and_a_dead_letter_queue() {
    let template = template();
    let tables = of_type(&template, "AWS::DynamoDB::Table");
    let mut read = BTreeSet::new();
    for (id, function) in functions(&template) {
        for (name, event) in function["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"] != "DynamoDB" {
                continue;
            }
            let properties = &event["Properties"];
            let table = referenced(&properties["Stream"]).unwrap();
            read.insert(table.clone());
            assert_eq!(
                properties["FunctionResponseTypes"],
                serde_norway::from_str::<Value>("[ReportBatchItemFailures]").unwrap(),
                "{id} {name:?}"
            );
            assert_eq!(properties["BisectBatchOnFunctionError"], true, "{id} {name:?}");
            assert_eq!(properties["ParallelizationFactor"], 1, "{id} {name:?}");
            let retries = properties["MaximumRetryAttempts"].as_i64().unwrap_or(-1);
            assert!((0..=100).contains(&retries), "{id} {name:?} retries forever");
            let dlq = referenced(&properties["DestinationConfig"]["OnFailure"]["Destination"])
                .unwrap_or_else(|| panic!("{id} {name:?} has no on-failure destination"));
            assert!(dlq.ends_with("DeadLetterQueue"), "{id} {name:?} fails into {dlq}");
            assert_eq!(
                tables[&table]["Properties"]["StreamSpecification"]["StreamViewType"], "NEW_AND_OLD_IMAGES",
                "{table}"
            );
        }
    }
    let expected: BTreeSet<String> = ["OrdersTable", "StateTable"].map(String::from).into();
    assert_eq!(read, expected);
}

/// Every event kind the code can publish has its schema registered, and the registered schema is the file in
/// infra/events that the events are tested against.
#[test]
fn every_event_kind_has_its_schema_registered_as_the_file_in_infra_events() {
    use shared::domain::events::EventKind;
    let template = template();
    let schemas = of_type(&template, "AWS::EventSchemas::Schema");
    assert_eq!(of_type(&template, "AWS::EventSchemas::Registry").len(), 1);
    assert_eq!(schemas.len(), EventKind::ALL.len());
    for kind in EventKind::ALL {
        let id = format!("{}Schema", kind.schema_name());
        let properties = &schemas
            .get(&id)
            .unwrap_or_else(|| panic!("no schema resource {id}"))["Properties"];
        assert_eq!(properties["Type"], "JSONSchemaDraft4", "{id}");
        let registered: serde_json::Value =
            serde_json::from_str(properties["Content"].as_str().unwrap()).unwrap();
        let path = repository().join(format!("infra/events/{}.json", kind.schema_name()));
        let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(registered, file, "{id} differs from {}", path.display());
        assert_eq!(
            file["properties"]["detail-type"]["enum"][0],
            kind.detail_type(),
            "{}",
            path.display()
        );
    }
}

/// Every HttpApi event of every function: (method, path, its `Auth`), as the template writes them.
fn api_events(template: &Template) -> Vec<(String, String, Value)> {
    of_type(template, "AWS::Serverless::Function")
        .into_values()
        .filter_map(|function| function["Properties"]["Events"].as_mapping())
        .flat_map(|events| events.values())
        .filter(|event| event["Type"].as_str() == Some("HttpApi"))
        .map(|event| {
            let properties = &event["Properties"];
            (
                properties["Method"].as_str().unwrap_or("").to_owned(),
                properties["Path"].as_str().unwrap_or("").to_owned(),
                properties["Auth"].clone(),
            )
        })
        .collect()
}

#[test]
fn only_the_two_connect_pages_are_served_without_iam() {
    let template = template();
    let auth = &template.document["Resources"]["HttpApi"]["Properties"]["Auth"];
    assert_eq!(auth["DefaultAuthorizer"].as_str(), Some("AWS_IAM"));
    let public: BTreeSet<(String, String)> = api_events(&template)
        .into_iter()
        .filter(|(_, _, auth)| !auth.is_null())
        .map(|(method, path, auth)| {
            assert_eq!(auth["Authorizer"].as_str(), Some("NONE"), "{method} {path}");
            (method, path)
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [("GET", "/connect/{linkId}"), ("GET", "/connect/callback")]
        .into_iter()
        .map(|(method, path)| (method.to_owned(), path.to_owned()))
        .collect();
    assert_eq!(public, expected);
    let routed: BTreeSet<(String, String)> = shared::api::routes()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path.to_owned()))
        .collect();
    assert!(
        public.is_subset(&routed),
        "a public route the router does not serve"
    );
}
