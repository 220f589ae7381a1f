//! The demo-lake generator: `persona generate --out DIR --customers N --seed S [--months M]`.
//!
//! A synthetic but realistic lake of a Chinese consumer-finance lender: customers with
//! format-valid PII, monthly-partitioned transactions, instalment-mall baskets, campaigns
//! with randomised holdouts, and monthly credit-score snapshots. The data is a function of
//! (seed, customers, months) only: the same arguments give byte-identical Parquet files on
//! any machine and thread count, because every customer draws from its own random streams.
//! Customers are generated in chunks of [`CHUNK_CUSTOMERS`] in parallel; each chunk writes
//! its own files. The lake is written to a temporary sibling directory and renamed into
//! place at the end. What was planted is written to `_truth.json` (see [`truth`]).

mod baskets;
mod calendar;
mod campaigns;
mod credit;
mod customers;
mod fraud;
mod parquet_file;
mod reference;
pub mod remote;
mod rng;
mod transactions;
pub mod truth;

use std::fs;
use std::path::{Path, PathBuf};

use datafusion::common::{plan_err, DataFusionError, Result};
use rayon::prelude::*;

use calendar::Calendar;
use customers::Customer;
use parquet_file::write_parquet;
pub use remote::publish_to_store;

/// Bump when the generated data changes, so cached demo lakes are regenerated.
pub const GENERATOR_VERSION: u32 = 5;

/// Customers per chunk: the unit of parallelism and of the output files.
pub const CHUNK_CUSTOMERS: i64 = 50_000;

/// Most customers [`generate`] accepts ([`GenerateOptions::customers`]).
pub const MAX_CUSTOMERS: i64 = 100_000_000;

/// Most months of history [`generate`] accepts ([`GenerateOptions::months`]).
pub const MAX_MONTHS: usize = 120;

/// Keys of the per-customer random streams.
mod stream {
    pub const CUSTOMER: u64 = 1;
    pub const TRANSACTION: u64 = 2;
    pub const BASKET: u64 = 3;
    pub const CAMPAIGN: u64 = 4;
    pub const CREDIT: u64 = 5;
    pub const TASTE: u64 = 6;
    pub const FRAUD: u64 = 7;
    pub const DEFECT: u64 = 8;
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub out: PathBuf,
    pub customers: i64,
    pub seed: u64,
    pub months: usize,
    /// Replace `out` if it exists.
    pub force: bool,
    /// Draw a progress bar on stderr (hidden when stderr is not a terminal). Only with the
    /// `cli` feature; ignored without it.
    pub progress: bool,
}

/// Row counts of the generated tables.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub customers: usize,
    pub transactions: usize,
    pub baskets: usize,
    pub campaign_contacts: usize,
    pub credit_scores: usize,
    pub fraud_labels: usize,
    /// The data-quality defects the lake holds (planted and by design), counted exactly.
    pub defects: truth::QualityTruth,
}

/// Generates a demo lake into `options.out`.
///
/// # Errors
/// `customers` outside 1..=[`MAX_CUSTOMERS`], `months` outside 1..=[`MAX_MONTHS`], an
/// existing `out` without `force`, an `out` without a final path component, or any I/O error.
/// The messages name the fields of [`GenerateOptions`]; front ends map them to their own flags.
pub fn generate(options: &GenerateOptions) -> Result<Summary> {
    if !(1..=MAX_CUSTOMERS).contains(&options.customers) {
        return plan_err!("generate: customers must be between 1 and {MAX_CUSTOMERS}, got {}", options.customers);
    }
    if !(1..=MAX_MONTHS).contains(&options.months) {
        return plan_err!("generate: months must be between 1 and {MAX_MONTHS}, got {}", options.months);
    }
    if options.out.exists() && !options.force {
        return plan_err!("generate: out {} already exists and force is not set", options.out.display());
    }
    let staging = sibling(&options.out, "tmp")?;
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::create_dir_all(&staging)?;
    let result = write_lake(options, &staging);
    match result {
        Ok(summary) => {
            publish(&staging, &options.out)?;
            Ok(summary)
        }
        Err(e) => {
            // best effort: the staging directory is ours alone
            let _ = fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

fn write_lake(options: &GenerateOptions, dir: &Path) -> Result<Summary> {
    let calendar = Calendar::new(options.months);
    let campaigns = campaigns::schedule(&calendar);
    let drifts = credit::Drifts::for_calendar(&calendar);
    let chunks = (options.customers + CHUNK_CUSTOMERS - 1) / CHUNK_CUSTOMERS;
    let progress = Progress::new(options.progress, chunks.unsigned_abs())?;
    write_parquet(&dir.join("products/part-00000.parquet"), &[baskets::product_batch()?])?;
    write_parquet(&dir.join("campaigns/part-00000.parquet"), &[campaigns::campaign_batch(&campaigns)?])?;

    let summaries: Vec<Summary> = (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let first = chunk * CHUNK_CUSTOMERS + 1;
            let last = ((chunk + 1) * CHUNK_CUSTOMERS).min(options.customers);
            let summary = write_chunk(options.seed, chunk, first..=last, &calendar, &campaigns, drifts, dir);
            progress.inc();
            summary
        })
        .collect::<Result<_>>()?;
    progress.finish();

    let summary = summaries.into_iter().fold(Summary::default(), |a, b| Summary {
        customers: a.customers + b.customers,
        transactions: a.transactions + b.transactions,
        baskets: a.baskets + b.baskets,
        campaign_contacts: a.campaign_contacts + b.campaign_contacts,
        credit_scores: a.credit_scores + b.credit_scores,
        fraud_labels: a.fraud_labels + b.fraud_labels,
        defects: a.defects.plus(&b.defects),
    });
    let truth = truth::Truth::new(options, &calendar, &campaigns, drifts, summary.defects.clone());
    let json = serde_json::to_string_pretty(&truth).map_err(|e| DataFusionError::External(Box::new(e)))?;
    fs::write(dir.join("_truth.json"), json + "\n")?;
    Ok(summary)
}

fn write_chunk(
    seed: u64,
    chunk: i64,
    ids: std::ops::RangeInclusive<i64>,
    calendar: &Calendar,
    campaigns: &[campaigns::Campaign],
    drifts: credit::Drifts,
    dir: &Path,
) -> Result<Summary> {
    let months = calendar.months();
    let customers: Vec<Customer> = ids.map(|id| Customer::generate(seed, id, calendar)).collect();
    let mut txn_months: Vec<_> = (0..months).map(|_| transactions::MonthBuilder::new()).collect();
    let mut basket_rows = baskets::BasketBuilder::new();
    let mut contacts = campaigns::ContactBuilder::new();
    let mut snapshots: Vec<_> = (0..months).map(|_| credit::SnapshotBuilder::new()).collect();
    let mut fraud_labels = fraud::LabelBuilder::new();
    let mut summary = Summary { customers: customers.len(), ..Summary::default() };
    for customer in &customers {
        let (n, duplicates) = transactions::append(seed, customer, calendar, &mut txn_months);
        summary.defects.duplicate_transactions += duplicates;
        fraud::append(seed, customer, calendar, n, &mut txn_months, &mut fraud_labels);
        baskets::append(seed, customer, calendar, &mut basket_rows);
        campaigns::append(seed, customer, calendar, campaigns, &mut contacts);
        credit::append(seed, customer, calendar, drifts, &mut snapshots);
    }
    let file = format!("part-{chunk:05}.parquet");
    summary.defects.count_customers(&customers);
    write_parquet(&dir.join("customers").join(&file), &[customers::batch(&customers)?])?;
    write_parquet(&dir.join("planted_churn").join(&file), &[customers::churn_batch(&customers, calendar)?])?;
    for (i, month) in txn_months.into_iter().enumerate() {
        let batch = month.finish()?;
        summary.transactions += batch.num_rows();
        summary.defects.count_amounts(&batch)?;
        let partition = format!("transactions/month={}", calendar.month_label(i));
        write_parquet(&dir.join(partition).join(&file), &[batch])?;
    }
    let batch = fraud_labels.finish()?;
    summary.fraud_labels = batch.num_rows();
    write_parquet(&dir.join("fraud_labels").join(&file), &[batch])?;
    let batch = basket_rows.finish()?;
    summary.baskets = batch.num_rows();
    write_parquet(&dir.join("baskets").join(&file), &[batch])?;
    let batch = contacts.finish()?;
    summary.campaign_contacts = batch.num_rows();
    write_parquet(&dir.join("campaign_contacts").join(&file), &[batch])?;
    let batches = snapshots.into_iter().map(credit::SnapshotBuilder::finish).collect::<Result<Vec<_>>>()?;
    summary.credit_scores = batches.iter().map(arrow::record_batch::RecordBatch::num_rows).sum();
    write_parquet(&dir.join("credit_scores").join(&file), &batches)?;
    Ok(summary)
}

/// The progress bar of [`GenerateOptions::progress`]: indicatif's with the `cli` feature,
/// nothing without it.
struct Progress {
    #[cfg(feature = "cli")]
    bar: indicatif::ProgressBar,
}

impl Progress {
    #[cfg(feature = "cli")]
    fn new(visible: bool, chunks: u64) -> Result<Self> {
        let bar = if visible { indicatif::ProgressBar::new(chunks) } else { indicatif::ProgressBar::hidden() };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} generating [{bar:40}] {pos}/{len} chunks of 50k customers, {elapsed}",
            )
            .map_err(|e| DataFusionError::External(Box::new(e)))?,
        );
        Ok(Self { bar })
    }

    #[cfg(not(feature = "cli"))]
    #[allow(clippy::unnecessary_wraps)]
    fn new(_visible: bool, _chunks: u64) -> Result<Self> {
        Ok(Self {})
    }

    fn inc(&self) {
        #[cfg(feature = "cli")]
        self.bar.inc(1);
    }

    fn finish(&self) {
        #[cfg(feature = "cli")]
        self.bar.finish_and_clear();
    }
}

/// `DIR.NAME-PID` next to `dir`, on the same file system so a rename is atomic.
fn sibling(dir: &Path, name: &str) -> Result<PathBuf> {
    let Some(file_name) = dir.file_name() else {
        return plan_err!("generate: out must name a directory, got {}", dir.display());
    };
    let mut sibling = file_name.to_os_string();
    sibling.push(format!(".{name}-{}", std::process::id()));
    Ok(dir.with_file_name(sibling))
}

/// Moves the finished lake into place, replacing an old one only after the new one is complete.
fn publish(staging: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        let old = sibling(out, "old")?;
        fs::rename(out, &old)?;
        fs::rename(staging, out)?;
        fs::remove_dir_all(&old)?;
    } else {
        fs::rename(staging, out)?;
    }
    Ok(())
}
