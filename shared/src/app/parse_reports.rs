//! The report parser: fetches one report document, streams it through its parser on a blocking thread, and
//! stores what it finds in batches as it goes: orders exactly once, unshipped orders and buyer PII (with an
//! expiry) only when they changed, FBA shipment lines once, bad rows quarantined. Memory stays bounded by a
//! few batches, whatever the document's size.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::mpsc;

use super::batch::{DeadLetters, HandlerError, each_message};
use super::import::{Import, ImportError, ParseMessage};
use super::store_orders::{Refused, merge_order_part, store_orders};
use crate::amazon::{Document, DocumentAccess, read_error};
use crate::domain::{
    BuyerPii, FbaShipmentItem, ImportOptions, ImportSummary, JobPurpose, JobState, Order, ReportKind,
    SellerAccount, UnshippedOrder,
};
use crate::metrics;
use crate::parse::{
    AllOrdersFlat, AllOrdersXml, Charset, FbaShipmentsFlat, ParseSummary, Parsed, Quarantined, Record,
    UnshippedOrdersFlat, WithBuyer, decode_xml,
};
use crate::ports::{ArchivedDocument, PutOutcome, QuarantinedRow};

/// The states of a job whose document was handed to the parsers: `pending` while the poller that sent it
/// has not recorded the hand-over yet (a fast parser can finish first), then `parsing` or `raw_document`.
/// A parser settles a job only from these, so a repeated delivery never moves an imported job again.
const HANDED_OVER: &[&str] = &["pending", "parsing", "raw_document"];
/// Records per batch handed from the parser thread to the store.
const BATCH: usize = 200;
/// Batches waiting between parser and store: the parser runs ahead by at most this many.
const BATCHES_AHEAD: usize = 2;
/// Buyer PII is kept this long after the order's delivery (Amazon's Data Protection Policy).
const PII_RETENTION: TimeDelta = TimeDelta::days(30);
/// When a report gives no delivery date, delivery is assumed this long after the order or shipment.
const ASSUMED_DELIVERY: TimeDelta = TimeDelta::days(7);

impl HandlerError for ImportError {
    fn is_retryable(&self) -> bool {
        ImportError::is_retryable(self)
    }
}

/// One batch of what a parser found.
#[derive(Debug)]
enum Batch {
    Orders(Vec<Record<Order>>),
    Unshipped(Vec<WithBuyer<UnshippedOrder>>),
    Shipments(Vec<WithBuyer<FbaShipmentItem>>),
    Quarantined(Vec<Quarantined>),
}

impl Import {
    /// Handles a batch of parse-queue messages.
    ///
    /// A message that fails on its last delivery is dead-lettered whatever the reason, so its job is abandoned
    /// with the reason then, as for a failure that repeats: a retryable failure on the last delivery does not
    /// leave the job `parsing` for ever, and the next scheduled window covers the job's window again.
    pub async fn parse_batch(&self, event: SqsEvent, dead_letters: Option<&DeadLetters>) -> SqsBatchResponse {
        let max_receives = dead_letters.map(|d| d.max_receives);
        each_message(event, dead_letters, |message| async move {
            let receives: u32 = message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            let last_delivery = max_receives.is_some_and(|max| receives >= max);
            let body = message.body.unwrap_or_default();
            let message: ParseMessage = serde_json::from_str(&body)
                .map_err(|e| ImportError::BadInput(format!("not a parse message: {e}")))?;
            match self.parse_report(&message).await {
                Ok(_) => Ok(()),
                Err(err) if last_delivery && err.is_retryable() => {
                    self.abandon_job(&message, &err).await?;
                    Err(err)
                }
                Err(err) => Err(err),
            }
        })
        .await
    }

    /// Imports one report document.
    #[tracing::instrument(skip(self), fields(account = %message.account_id, report_id = %message.report_id))]
    pub async fn parse_report(&self, message: &ParseMessage) -> Result<ImportSummary, ImportError> {
        let Some(record) = self.accounts.get_account(&message.account_id).await? else {
            tracing::warn!("report of an account that no longer exists; dropped");
            return Ok(ImportSummary::default());
        };
        let kind = ReportKind::of(&message.report_type);
        let result = if kind.is_parsed() {
            self.import_document(message, kind, &record.account).await
        } else {
            self.archive_document(message, &record.account).await
        };
        let summary = match result {
            Ok(summary) => summary,
            Err(err) => {
                self.record_failure(&message.account_id, &err).await?;
                if !err.is_retryable() {
                    self.abandon_job(message, &err).await?;
                }
                return Err(err);
            }
        };
        if !kind.is_parsed() {
            // Archived, not imported: the account's import status is the order reports'.
            return Ok(summary);
        }

        let now = self.clock.now();
        let job = self.jobs.get_job(&message.account_id, &message.job_key).await?;
        let watermark = match &job {
            Some(job) if job.purpose == JobPurpose::Scheduled => {
                job.window.map(|w| (job.report_type.as_str(), w.end))
            }
            _ => None,
        };
        self.accounts
            .record_import(&message.account_id, now, watermark)
            .await?;
        if let Some(mut job) = job {
            let expected = job.change_from(HANDED_OVER);
            job.state = JobState::Imported {
                document_id: message.report_document_id.clone(),
                summary: summary.clone(),
            };
            job.updated_at = now;
            if !self.jobs.put_job(&job, None, expected).await? {
                tracing::info!("the job was settled already (a repeated delivery)");
            }
        }
        tracing::info!(?summary, "report imported");
        if self.settings.enrich_orders {
            self.complete_orders(&record.account).await;
        }
        self.metrics.emit(
            &metrics::import_succeeded(&message.account_id, &message.report_type),
            now,
        );
        Ok(summary)
    }

    /// Closes the job of a document that cannot be imported (the message goes to the dead-letter queue); the
    /// watermark stays where it was, so the next scheduled window covers the job's window again.
    async fn abandon_job(&self, message: &ParseMessage, err: &ImportError) -> Result<(), ImportError> {
        if let Some(mut job) = self.jobs.get_job(&message.account_id, &message.job_key).await? {
            // A job another delivery imported stays imported.
            let expected = job.change_from(HANDED_OVER);
            job.state = JobState::Abandoned {
                reason: format!("import failed: {err}"),
                replaced_by: None,
            };
            job.updated_at = self.clock.now();
            self.jobs.put_job(&job, None, expected).await?;
        }
        Ok(())
    }

    /// Starts the download of the message's document: a fresh URL from Amazon (with a Restricted Data Token
    /// for documents with buyer data), then its body as a stream.
    async fn download(
        &self,
        message: &ParseMessage,
        account: &SellerAccount,
    ) -> Result<Document, ImportError> {
        let auth = self.seller_auth(account).await?;
        let access = DocumentAccess::for_report_type(&message.report_type);
        let document = self
            .amazon
            .get_report_document(&auth, &message.report_document_id, access)
            .await?;
        Ok(self
            .amazon
            .download_document(&document.url, document.compression_algorithm)
            .await?)
    }

    /// Copies a document sellersync does not parse, as Amazon stored it (compressed or not, in its charset), to
    /// the archive, and records where it is on the job.
    async fn archive_document(
        &self,
        message: &ParseMessage,
        account: &SellerAccount,
    ) -> Result<ImportSummary, ImportError> {
        let body = self.download(message, account).await?;
        let stored = ArchivedDocument {
            content_type: body.content_type().map(str::to_owned),
            content_encoding: body.compression().map(|_| "gzip".to_owned()),
        };
        // Spooled to a file first: S3 wants the length up front, and documents may not fit in memory.
        let spool = std::env::temp_dir().join(format!("sellersync-{}", message.report_document_id));
        let copied = async {
            let mut file = tokio::fs::File::create(&spool).await?;
            tokio::io::copy(&mut body.into_async_read(), &mut file).await?;
            file.sync_all().await
        }
        .await;
        let key = format!(
            "{}/{}/{}",
            message.account_id, message.report_type, message.report_id
        );
        let archived = match copied {
            Ok(()) => self
                .archive
                .put_file(&key, &spool, &stored)
                .await
                .map_err(ImportError::from),
            Err(err) => Err(ImportError::Amazon(read_error(err))),
        };
        if let Err(err) = tokio::fs::remove_file(&spool).await {
            tracing::warn!(error = %err, "could not remove a spooled document");
        }
        let location = archived?;
        if let Some(mut job) = self.jobs.get_job(&message.account_id, &message.job_key).await? {
            let expected = job.change_from(HANDED_OVER);
            job.state = JobState::RawDocument {
                document_id: message.report_document_id.clone(),
                location: Some(location),
            };
            job.updated_at = self.clock.now();
            self.jobs.put_job(&job, None, expected).await?;
        }
        tracing::info!(report_type = %message.report_type, "raw report document archived");
        Ok(ImportSummary::default())
    }

    async fn import_document(
        &self,
        message: &ParseMessage,
        kind: ReportKind,
        account: &SellerAccount,
    ) -> Result<ImportSummary, ImportError> {
        let options = &account.options;
        let body = self.download(message, account).await?;
        let reader = body.into_blocking_reader()?;
        let content_type = reader.content_type().map(str::to_owned);

        let (sender, mut receiver) = mpsc::channel(BATCHES_AHEAD);
        let parser =
            tokio::task::spawn_blocking(move || parse(kind, reader, content_type.as_deref(), &sender));

        let mut summary = ImportSummary::default();
        let stored = async {
            while let Some(batch) = receiver.recv().await {
                summary.add(
                    &self
                        .store_batch(&message.account_id, options, message, batch)
                        .await?,
                );
            }
            Ok::<_, ImportError>(())
        }
        .await;
        // Dropping the receiver stops the parser at its next batch if storing failed.
        drop(receiver);
        let parsed = parser.await.map_err(|e| match e.try_into_panic() {
            // A parser bug this document triggers: the job is abandoned with the reason, not retried.
            Ok(payload) => ImportError::Panicked(crate::panic::reason(payload.as_ref())),
            Err(e) => ImportError::Internal(format!("parser thread: {e}")),
        })?;
        stored?;
        let parsed = parsed?;
        summary.rows = parsed.rows;
        // Plus the orders the store refused, counted as their batches were stored.
        summary.quarantined += parsed.quarantined_rows;
        Ok(summary)
    }

    async fn store_batch(
        &self,
        account: &str,
        options: &ImportOptions,
        message: &ParseMessage,
        batch: Batch,
    ) -> Result<ImportSummary, ImportError> {
        match batch {
            Batch::Orders(records) => {
                let lines: HashMap<String, u64> = records
                    .iter()
                    .map(|r| (r.value.amazon_order_id.to_string(), r.line))
                    .collect();
                let (mut summary, refused) = self.store_order_records(account, options, records).await?;
                if !refused.is_empty() {
                    summary.quarantined += refused.len() as u64;
                    let entries = refused
                        .into_iter()
                        .map(|order| {
                            let line = lines.get(&order.order_id).copied().unwrap_or(0);
                            Quarantined {
                                line,
                                lines: vec![line],
                                order_id: Some(order.order_id),
                                reason: order.reason,
                            }
                        })
                        .collect();
                    self.quarantine(account, message, entries).await?;
                }
                Ok(summary)
            }
            Batch::Unshipped(records) => self.store_unshipped(account, options, records).await,
            Batch::Shipments(records) => self.store_shipments(account, options, records).await,
            Batch::Quarantined(entries) => {
                self.quarantine(account, message, entries).await?;
                Ok(ImportSummary::default())
            }
        }
    }

    /// Keeps what was left out of the import, with why.
    async fn quarantine(
        &self,
        account: &str,
        message: &ParseMessage,
        entries: Vec<Quarantined>,
    ) -> Result<(), ImportError> {
        let now = self.clock.now();
        let rows: Vec<QuarantinedRow> = entries
            .into_iter()
            .map(|entry| QuarantinedRow {
                report_id: message.report_id.clone(),
                report_type: message.report_type.clone(),
                line: entry.line,
                lines: entry.lines,
                order_id: entry.order_id,
                reason: entry.reason,
                at: now,
            })
            .collect();
        for row in &rows {
            tracing::warn!(line = row.line, order_id = ?row.order_id, reason = %row.reason, "row quarantined");
        }
        self.orders.quarantine(account, &rows).await?;
        Ok(())
    }

    /// Stores a batch of orders; the orders the store refuses (an order larger than an item may be) are
    /// returned to be quarantined, not failed on, so the document and later windows still import.
    async fn store_order_records(
        &self,
        account: &str,
        options: &ImportOptions,
        records: Vec<Record<Order>>,
    ) -> Result<(ImportSummary, Vec<Refused>), ImportError> {
        let (split, whole): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| r.split);
        let whole: Vec<Order> = whole.into_iter().map(|r| r.value).collect();
        let (mut summary, mut refused) = store_orders(self.orders.as_ref(), account, options, &whole).await?;
        // The later part of an order whose rows a report split apart: merged after the first part is stored.
        for record in split {
            summary.records += 1;
            let order_id = record.value.amazon_order_id.to_string();
            match merge_order_part(self.orders.as_ref(), account, options, record.value).await {
                Ok(Some(PutOutcome::Written)) => summary.written += 1,
                Ok(Some(PutOutcome::NotNewer)) => summary.unchanged += 1,
                Ok(None) => summary.filtered += 1,
                Err(err) if err.is_rejected() => refused.push(Refused {
                    order_id,
                    reason: err.to_string(),
                }),
                Err(err) => return Err(err.into()),
            }
        }
        Ok((summary, refused))
    }

    async fn store_unshipped(
        &self,
        account: &str,
        options: &ImportOptions,
        records: Vec<WithBuyer<UnshippedOrder>>,
    ) -> Result<ImportSummary, ImportError> {
        let ids: Vec<&str> = records.iter().map(|r| r.data.amazon_order_id.as_str()).collect();
        let stored = self.orders.unshipped_fingerprints(account, &ids).await?;
        let mut summary = ImportSummary {
            records: records.len() as u64,
            ..ImportSummary::default()
        };
        for record in &records {
            let buyer = kept_buyer(options, record);
            let fingerprint = fingerprint(&record.data, buyer);
            if stored.get(&record.data.amazon_order_id) == Some(&fingerprint) {
                summary.unchanged += 1;
                continue;
            }
            if let Some(buyer) = buyer {
                let delivered = record
                    .data
                    .promise_date
                    .unwrap_or(record.data.purchase_date + ASSUMED_DELIVERY);
                self.orders
                    .put_buyer(account, buyer, delivered + PII_RETENTION)
                    .await?;
            }
            // Written last, so that a crash before it makes the next read write the buyer data again.
            self.orders
                .put_unshipped(account, &record.data, fingerprint)
                .await?;
            summary.written += 1;
        }
        Ok(summary)
    }

    async fn store_shipments(
        &self,
        account: &str,
        options: &ImportOptions,
        records: Vec<WithBuyer<FbaShipmentItem>>,
    ) -> Result<ImportSummary, ImportError> {
        let mut summary = ImportSummary {
            records: records.len() as u64,
            ..ImportSummary::default()
        };
        if !options.import_fba {
            summary.filtered = summary.records;
            return Ok(summary);
        }
        let lines: Vec<&FbaShipmentItem> = records.iter().map(|r| &r.data).collect();
        let stored: HashSet<String> = self.orders.stored_shipment_items(account, &lines).await?;
        for record in &records {
            if stored.contains(&record.data.shipment_item_id) {
                summary.unchanged += 1;
                continue;
            }
            if let Some(buyer) = kept_buyer(options, record) {
                self.orders
                    .put_buyer(account, buyer, pii_expiry(&record.data))
                    .await?;
            }
            match self.orders.put_shipment_item(account, &record.data).await? {
                PutOutcome::Written => summary.written += 1,
                PutOutcome::NotNewer => summary.unchanged += 1,
            }
        }
        Ok(summary)
    }
}

/// The buyer data of a record to store: none unless the account imports addresses, whichever report carried
/// it (a restricted report can be requested by hand, whatever the account's options).
fn kept_buyer<'a, T>(options: &ImportOptions, record: &'a WithBuyer<T>) -> Option<&'a BuyerPii> {
    record.buyer.as_ref().filter(|_| options.import_addresses)
}

/// When an FBA order's buyer PII must be gone: 30 days after its (estimated) delivery.
fn pii_expiry(line: &FbaShipmentItem) -> DateTime<Utc> {
    line.estimated_arrival_date
        .unwrap_or(line.shipment_date + ASSUMED_DELIVERY)
        + PII_RETENTION
}

/// A fingerprint of what a report said about an unshipped order, to tell an unchanged re-read apart. It is
/// stored, so it must not change with the toolchain: SHA-256 of the order's and the kept buyer's JSON (with a
/// separator no JSON text contains), its first 8 bytes, rather than `DefaultHasher`, whose algorithm Rust does
/// not promise to keep.
fn fingerprint(order: &UnshippedOrder, buyer: Option<&BuyerPii>) -> u64 {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    digest.update(serde_json::to_vec(order).unwrap_or_default());
    digest.update([0xff]);
    digest.update(serde_json::to_vec(&buyer).unwrap_or_default());
    let hash = digest.finalize();
    u64::from_be_bytes(hash[..8].try_into().expect("SHA-256 has 32 bytes"))
}

/// Runs the report's parser over `input` on the calling (blocking) thread, sending batches to `sender`.
fn parse(
    kind: ReportKind,
    input: impl Read,
    content_type: Option<&str>,
    sender: &mpsc::Sender<Batch>,
) -> Result<ParseSummary, ImportError> {
    let charset = || Charset::from_content_type(content_type);
    match kind {
        ReportKind::AllOrdersFlat => {
            let mut parser = AllOrdersFlat::new(input, charset()?)?;
            pump(&mut parser, sender, Batch::Orders)?;
            Ok(parser.summary())
        }
        ReportKind::AllOrdersXml => {
            let mut parser = AllOrdersXml::new(BufReader::new(decode_xml(input, content_type)?));
            pump(&mut parser, sender, Batch::Orders)?;
            Ok(parser.summary())
        }
        ReportKind::ActionableOrders => {
            let mut parser = UnshippedOrdersFlat::new(input, charset()?)?;
            pump(&mut parser, sender, Batch::Unshipped)?;
            Ok(parser.summary())
        }
        ReportKind::FbaShipments => {
            let mut parser = FbaShipmentsFlat::new(input, charset()?)?;
            pump(&mut parser, sender, Batch::Shipments)?;
            Ok(parser.summary())
        }
        ReportKind::Raw => Err(ImportError::BadInput("raw documents are not parsed".into())),
    }
}

/// Moves a parser's records and quarantine entries to the store in batches.
fn pump<T, R>(
    parser: &mut impl Iterator<Item = Result<Parsed<T>, crate::error::ParseError>>,
    sender: &mpsc::Sender<Batch>,
    wrap: impl Fn(Vec<R>) -> Batch,
) -> Result<(), ImportError>
where
    Parsed<T>: Into<Entry<R>>,
{
    let send = |batch: Batch| {
        sender
            .blocking_send(batch)
            .map_err(|_| ImportError::Internal("storing stopped; parsing abandoned".into()))
    };
    let (mut records, mut quarantined) = (Vec::with_capacity(BATCH), Vec::new());
    for entry in parser {
        match entry?.into() {
            Entry::Record(record) => records.push(record),
            Entry::Quarantined(entry) => quarantined.push(entry),
        }
        if records.len() >= BATCH {
            send(wrap(std::mem::replace(&mut records, Vec::with_capacity(BATCH))))?;
        }
        if quarantined.len() >= BATCH {
            send(Batch::Quarantined(std::mem::take(&mut quarantined)))?;
        }
    }
    if !records.is_empty() {
        send(wrap(records))?;
    }
    if !quarantined.is_empty() {
        send(Batch::Quarantined(quarantined))?;
    }
    Ok(())
}

/// A parsed entry in the shape its batch holds: whole records for orders (their `split` flag matters),
/// plain values for the others.
enum Entry<R> {
    Record(R),
    Quarantined(Quarantined),
}

impl From<Parsed<Order>> for Entry<Record<Order>> {
    fn from(parsed: Parsed<Order>) -> Self {
        match parsed {
            Parsed::Record(record) => Entry::Record(record),
            Parsed::Quarantined(q) => Entry::Quarantined(q),
        }
    }
}

impl<T> From<Parsed<WithBuyer<T>>> for Entry<WithBuyer<T>> {
    fn from(parsed: Parsed<WithBuyer<T>>) -> Self {
        match parsed {
            Parsed::Record(record) => Entry::Record(record.value),
            Parsed::Quarantined(q) => Entry::Quarantined(q),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UnshippedItem;

    fn order() -> UnshippedOrder {
        UnshippedOrder {
            amazon_order_id: "111-0000000-0000001".into(),
            purchase_date: "2026-03-09T12:00:00Z".parse().expect("date"),
            payments_date: None,
            reporting_date: None,
            promise_date: None,
            ship_service_level: Some("Standard".into()),
            sales_channel: None,
            is_business_order: false,
            purchase_order_number: None,
            is_prime: true,
            items: Vec::<UnshippedItem>::new(),
        }
    }

    /// Stored fingerprints outlive the binary that wrote them: the value for a fixed order is pinned, so a
    /// change of algorithm (or of a toolchain's hasher) fails here instead of rewriting every stored order.
    #[test]
    fn the_fingerprint_is_stable_across_builds_and_tells_changes_apart() {
        let order = order();
        // The first 8 bytes of SHA-256 over the order's JSON, 0xff and `null`, as Python's hashlib computes them.
        assert_eq!(fingerprint(&order, None), 0xb2a4_e52d_5224_99bc);
        let mut changed = order.clone();
        changed.is_prime = false;
        assert_ne!(fingerprint(&changed, None), fingerprint(&order, None));
        let buyer = BuyerPii {
            amazon_order_id: order.amazon_order_id.clone(),
            ..BuyerPii::default()
        };
        assert_ne!(fingerprint(&order, Some(&buyer)), fingerprint(&order, None));
    }
}
