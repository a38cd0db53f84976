//! `EventBus`: an [`EventPublisher`] over one EventBridge bus (`PutEvents`).

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::unavailable;
use crate::domain::events::{EVENT_SOURCE, Event};
use crate::error::StoreError;
use crate::ports::EventPublisher;

/// One EventBridge event bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    name: String,
}

impl EventBus {
    /// The bus named `name` (or its ARN).
    pub fn new(client: aws_sdk_eventbridge::Client, name: impl Into<String>) -> Self {
        EventBus {
            client,
            name: name.into(),
        }
    }
}

#[async_trait]
impl EventPublisher for EventBus {
    async fn publish(&self, events: &[Event]) -> Result<Vec<usize>, StoreError> {
        if events.is_empty() {
            return Ok(vec![]);
        }
        let entries = events
            .iter()
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.name)
                    .source(EVENT_SOURCE)
                    .detail_type(event.kind.detail_type())
                    .detail(event.detail_json())
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| unavailable("PutEvents", e))?;
        if output.failed_entry_count() == 0 {
            return Ok(vec![]);
        }
        // One result per entry, in order; a failed one has an error code (and no event id).
        let results = output.entries();
        let failed: Vec<usize> = (0..events.len())
            .filter(|&i| {
                results
                    .get(i)
                    .is_none_or(|r| r.error_code().is_some() || r.event_id().is_none())
            })
            .collect();
        for &i in &failed {
            let code = results.get(i).and_then(|r| r.error_code()).unwrap_or("missing");
            tracing::warn!(event_id = events[i].id(), code, "EventBridge refused an event");
        }
        Ok(failed)
    }
}
