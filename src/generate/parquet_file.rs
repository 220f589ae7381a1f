//! Writing one Parquet file: zstd, page statistics, 1M-row row groups.

use std::fs::{self, File};
use std::path::Path;

use arrow::record_batch::RecordBatch;
use datafusion::common::{internal_err, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

pub fn write_parquet(path: &Path, batches: &[RecordBatch]) -> Result<()> {
    let Some(first) = batches.first() else {
        return internal_err!("no batches to write to {}", path.display());
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let mut writer = ArrowWriter::try_new(File::create(path)?, first.schema(), Some(properties))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(())
}
