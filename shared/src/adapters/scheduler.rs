//! `EventBridgeSchedules`: per-account schedules in EventBridge Scheduler, each invoking the report requester.

use async_trait::async_trait;
use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleError;
use aws_sdk_scheduler::types::{
    DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState, Target,
};

use super::unavailable;
use crate::error::StoreError;
use crate::ports::{ScheduleSpec, Schedules};

/// Where the schedules live and what they invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTarget {
    /// The product's schedule group.
    pub group: String,
    /// The report requester function's ARN.
    pub function_arn: String,
    /// The role Scheduler assumes to invoke it.
    pub role_arn: String,
    /// Where Scheduler puts ticks it could not deliver.
    pub dead_letter_arn: String,
}

/// Schedules in EventBridge Scheduler.
#[derive(Debug, Clone)]
pub struct EventBridgeSchedules {
    client: aws_sdk_scheduler::Client,
    target: ScheduleTarget,
}

/// Retries of one tick before it goes to the dead-letter queue; a tick older than its interval is useless, the next
/// one covers its window.
const MAX_RETRIES: i32 = 3;
const MAX_EVENT_AGE_SECONDS: i32 = 900;

impl EventBridgeSchedules {
    /// Schedules in `target.group` that invoke `target.function_arn`.
    pub fn new(client: aws_sdk_scheduler::Client, target: ScheduleTarget) -> Self {
        EventBridgeSchedules { client, target }
    }

    fn parts(&self, spec: &ScheduleSpec) -> Result<(FlexibleTimeWindow, Target, ScheduleState), StoreError> {
        let built = |e: aws_sdk_scheduler::error::BuildError| StoreError::Unavailable {
            operation: "CreateSchedule",
            message: e.to_string(),
        };
        let window = if spec.flexible_window_minutes == 0 {
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
        } else {
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Flexible)
                .maximum_window_in_minutes(spec.flexible_window_minutes.min(1440) as i32)
                .build()
        }
        .map_err(built)?;
        let target = Target::builder()
            .arn(&self.target.function_arn)
            .role_arn(&self.target.role_arn)
            .input(&spec.input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(MAX_RETRIES)
                    .maximum_event_age_in_seconds(MAX_EVENT_AGE_SECONDS)
                    .build(),
            )
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn(&self.target.dead_letter_arn)
                    .build(),
            )
            .build()
            .map_err(built)?;
        let state = if spec.enabled {
            ScheduleState::Enabled
        } else {
            ScheduleState::Disabled
        };
        Ok((window, target, state))
    }
}

#[async_trait]
impl Schedules for EventBridgeSchedules {
    async fn put(&self, spec: &ScheduleSpec) -> Result<(), StoreError> {
        let (window, target, state) = self.parts(spec)?;
        let created = self
            .client
            .create_schedule()
            .name(&spec.name)
            .group_name(&self.target.group)
            .schedule_expression(&spec.expression)
            .flexible_time_window(window.clone())
            .target(target.clone())
            .state(state.clone())
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(CreateScheduleError::ConflictException(_)) => {
                    self.client
                        .update_schedule()
                        .name(&spec.name)
                        .group_name(&self.target.group)
                        .schedule_expression(&spec.expression)
                        .flexible_time_window(window)
                        .target(target)
                        .state(state)
                        .send()
                        .await
                        .map_err(|e| unavailable("UpdateSchedule", e))?;
                    Ok(())
                }
                _ => Err(unavailable("CreateSchedule", err)),
            },
        }
    }

    async fn get(&self, name: &str) -> Result<Option<ScheduleSpec>, StoreError> {
        match self
            .client
            .get_schedule()
            .name(name)
            .group_name(&self.target.group)
            .send()
            .await
        {
            Ok(schedule) => Ok(Some(ScheduleSpec {
                name: schedule.name.unwrap_or_else(|| name.to_owned()),
                expression: schedule.schedule_expression.unwrap_or_default(),
                enabled: schedule.state != Some(ScheduleState::Disabled),
                flexible_window_minutes: schedule
                    .flexible_time_window
                    .and_then(|w| w.maximum_window_in_minutes)
                    .map_or(0, |m| m.max(0) as u32),
                input: schedule.target.and_then(|t| t.input).unwrap_or_default(),
            })),
            Err(err) => match err.as_service_error() {
                Some(GetScheduleError::ResourceNotFoundException(_)) => Ok(None),
                _ => Err(unavailable("GetSchedule", err)),
            },
        }
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_schedule()
            .name(name)
            .group_name(&self.target.group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(DeleteScheduleError::ResourceNotFoundException(_)) => Ok(()),
                _ => Err(unavailable("DeleteSchedule", err)),
            },
        }
    }
}
