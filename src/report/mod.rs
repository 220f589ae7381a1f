//! `persona report`: runs the report's SQL on a lake and writes one self-contained HTML file
//! (inline SVG charts, inline CSS, no script, font or anything else fetched when opened), or the
//! charts as standalone SVG files. Each chart carries the table it was drawn from and the SQL
//! that produced the table. The charts and their SQL are in [`charts`]; the data-quality section
//! is drawn from [`crate::profile`].

pub mod charts;
pub mod svg;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{plan_err, Result};
use datafusion::prelude::SessionContext;

use crate::profile::{profile_tables, ProfileOptions};
use charts::{ChartSpec, Kind, CHARTS};
use svg::{escape, ForestRow, Series};

/// A section of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Segmentation,
    Campaigns,
    Drift,
    Credit,
    Baskets,
    Quality,
    Lifetime,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::Segmentation,
        Section::Campaigns,
        Section::Drift,
        Section::Credit,
        Section::Baskets,
        Section::Quality,
        Section::Lifetime,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Section::Segmentation => "segmentation",
            Section::Campaigns => "campaigns",
            Section::Drift => "drift",
            Section::Credit => "credit",
            Section::Baskets => "baskets",
            Section::Quality => "quality",
            Section::Lifetime => "lifetime",
        }
    }

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Section::Segmentation => "Customer segmentation · 客户分群",
            Section::Campaigns => "Campaign evaluation · 营销活动评估",
            Section::Drift => "Model and population drift · 模型监控",
            Section::Credit => "Credit score performance · 信用评分表现",
            Section::Baskets => "Market baskets · 购物篮分析",
            Section::Quality => "Data quality · 数据质量",
            Section::Lifetime => "Customer lifetime · 客户生命周期",
        }
    }

    /// Parses a comma-separated list of section names; empty means all.
    ///
    /// # Errors
    /// An unknown name (the message lists the known ones).
    pub fn parse_list(list: &str) -> Result<Vec<Section>> {
        let mut out = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let Some(section) = Section::ALL.iter().find(|s| s.name() == name) else {
                let known: Vec<_> = Section::ALL.iter().map(|s| s.name()).collect();
                return plan_err!("report: unknown section '{name}'; sections are {}", known.join(", "));
            };
            if !out.contains(section) {
                out.push(*section);
            }
        }
        Ok(if out.is_empty() { Section::ALL.to_vec() } else { out })
    }
}

/// A chart's table: column names and, per row, the displayed text and the number (for
/// numeric columns) of every cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub number: Option<f64>,
}

impl Table {
    /// The rows of `batches` (all of one schema).
    ///
    /// # Errors
    /// A value that cannot be displayed.
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Table> {
        let mut table = Table::default();
        let options = FormatOptions::default().with_null("");
        for (b, batch) in batches.iter().enumerate() {
            if b == 0 {
                table.columns = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
            }
            let mut columns = Vec::with_capacity(batch.num_columns());
            for column in batch.columns() {
                let numbers = if column.data_type().is_numeric() {
                    Some(cast(column, &DataType::Float64)?.as_primitive::<Float64Type>().clone())
                } else {
                    None
                };
                columns.push((ArrayFormatter::try_new(column.as_ref(), &options)?, numbers));
            }
            for row in 0..batch.num_rows() {
                let cells = columns
                    .iter()
                    .map(|(format, numbers)| Cell {
                        text: format.value(row).to_string(),
                        number: numbers.as_ref().and_then(|n| n.is_valid(row).then(|| n.value(row))),
                    })
                    .collect();
                table.rows.push(cells);
            }
        }
        Ok(table)
    }

    fn text(&self, row: usize, column: usize) -> &str {
        self.rows[row].get(column).map_or("", |c| c.text.as_str())
    }

    fn number(&self, row: usize, column: usize) -> Option<f64> {
        self.rows[row].get(column).and_then(|c| c.number)
    }
}

/// One drawn chart.
#[derive(Debug, Clone)]
pub struct Chart {
    pub id: String,
    pub section: Section,
    pub title: String,
    pub sql: String,
    pub table: Table,
    pub svg: String,
    pub elapsed: Duration,
}

/// A report: its charts in section order.
#[derive(Debug, Clone)]
pub struct Report {
    pub lake: String,
    pub as_of: String,
    /// The year of the first transaction (ages are taken in it, as the recipes do).
    pub first_year: String,
    pub sections: Vec<Section>,
    pub charts: Vec<Chart>,
}

/// Progress of [`build`]: called before each chart with its position, the total and its id.
pub trait Progress {
    fn chart(&mut self, index: usize, total: usize, section: Section, id: &str);
}

impl<F: FnMut(usize, usize, Section, &str)> Progress for F {
    fn chart(&mut self, index: usize, total: usize, section: Section, id: &str) {
        self(index, total, section, id);
    }
}

async fn scalar_text(ctx: &SessionContext, sql: &str) -> Result<String> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let table = Table::from_batches(&batches)?;
    match table.rows.first().and_then(|r| r.first()) {
        Some(cell) if !cell.text.is_empty() => Ok(cell.text.clone()),
        _ => plan_err!("report: the lake has no transactions to date the report by ({sql})"),
    }
}

/// The SQL of `spec` with the report's dates filled in.
#[must_use]
pub fn chart_sql(spec: &ChartSpec, as_of: &str, first_year: &str) -> String {
    spec.sql.replace("{as_of}", as_of).replace("{first_year}", first_year)
}

/// Runs the charts of `sections` on `ctx` (a lake laid out as the demo lake).
///
/// # Errors
/// A failing query (the message names the chart).
pub async fn build(
    ctx: &SessionContext,
    lake: &str,
    sections: &[Section],
    mut progress: impl Progress,
) -> Result<Report> {
    let as_of =
        scalar_text(ctx, "SELECT CAST(CAST(max(txn_ts) AS DATE) + INTERVAL '1 day' AS VARCHAR) FROM transactions")
            .await?;
    let first_year =
        scalar_text(ctx, "SELECT CAST(date_part('year', min(txn_ts)) AS BIGINT) FROM transactions").await?;
    let specs: Vec<&ChartSpec> = CHARTS.iter().filter(|c| sections.contains(&c.section)).collect();
    let quality = sections.contains(&Section::Quality);
    let total = specs.len() + if quality { 2 } else { 0 };
    let mut charts = Vec::with_capacity(total);
    let mut index = 0;
    for section in sections {
        for spec in specs.iter().filter(|s| s.section == *section) {
            index += 1;
            progress.chart(index, total, spec.section, spec.id);
            let start = Instant::now();
            let sql = chart_sql(spec, &as_of, &first_year);
            let batches = match ctx.sql(&sql).await {
                Ok(frame) => frame.collect().await,
                Err(e) => Err(e),
            }
            .map_err(|e| e.context(format!("report chart {}", spec.id)))?;
            let table = Table::from_batches(&batches)?;
            let svg = draw(spec.kind, spec.title, &table);
            charts.push(Chart {
                id: spec.id.into(),
                section: spec.section,
                title: spec.title.into(),
                sql,
                table,
                svg,
                elapsed: start.elapsed(),
            });
        }
        if *section == Section::Quality {
            index += 2;
            progress.chart(index - 1, total, Section::Quality, "quality_issues, quality_nulls");
            charts.extend(quality_charts(ctx).await?);
        }
    }
    Ok(Report { lake: lake.into(), as_of, first_year, sections: sections.to_vec(), charts })
}

/// The data-quality charts: the profile of every table (one pass each), its findings as a bar
/// chart (`quality_issues`) and the NULL shares (`quality_nulls`).
async fn quality_charts(ctx: &SessionContext) -> Result<Vec<Chart>> {
    let start = Instant::now();
    let tables = crate::profile::lake_tables(ctx)?;
    let profiles = profile_tables(ctx, &tables, &ProfileOptions::default(), |_| {}).await?;
    let batches: Vec<RecordBatch> = profiles.iter().map(|p| p.batch.clone()).collect();
    let profile = Table::from_batches(&batches)?;
    let column = |name: &str| profile.columns.iter().position(|c| c == name);
    let (Some(t), Some(c), Some(rows), Some(nulls)) =
        (column("table"), column("column"), column("rows"), column("nulls"))
    else {
        return plan_err!("report: the profile lacks its table, column, rows or nulls");
    };
    let mut issues = Table {
        columns: ["finding", "rows_affected", "share_pct", "table", "column"].map(String::from).to_vec(),
        rows: Vec::new(),
    };
    let mut null_rows =
        Table { columns: ["column", "null_pct", "nulls", "rows"].map(String::from).to_vec(), rows: Vec::new() };
    let checks = [
        ("invalid", "invalid values"),
        ("negative", "negative numbers"),
        ("non_finite", "NaN or infinite numbers"),
        ("future", "dates in the future"),
        ("duplicate_keys", "duplicate keys"),
    ];
    let cell = |text: String, number: Option<f64>| Cell { text, number };
    for r in 0..profile.rows.len() {
        let total = profile.number(r, rows).unwrap_or(0.0);
        let name = format!("{}.{}", profile.text(r, t), profile.text(r, c));
        for (field, label) in checks {
            let Some(i) = column(field) else { continue };
            let Some(count) = profile.number(r, i).filter(|n| *n > 0.0) else { continue };
            let extra = column("check").map(|k| profile.text(r, k)).filter(|k| !k.is_empty() && field == "invalid");
            let label = match extra {
                Some(check) => format!("{name}: {label} ({check})"),
                None => format!("{name}: {label}"),
            };
            let share = if total > 0.0 { (count / total * 10_000.0).round() / 100.0 } else { 0.0 };
            issues.rows.push(vec![
                cell(label, None),
                cell(svg::fmt_value(count), Some(count)),
                cell(svg::fmt_value(share), Some(share)),
                cell(profile.text(r, t).into(), None),
                cell(profile.text(r, c).into(), None),
            ]);
        }
        if let Some(n) = profile.number(r, nulls).filter(|n| *n > 0.0) {
            let pct = if total > 0.0 { (n / total * 10_000.0).round() / 100.0 } else { 0.0 };
            null_rows.rows.push(vec![
                cell(name, None),
                cell(svg::fmt_value(pct), Some(pct)),
                cell(svg::fmt_value(n), Some(n)),
                cell(svg::fmt_value(total), Some(total)),
            ]);
        }
    }
    let issues_title = "Data-quality findings: rows affected · 数据质量问题";
    let nulls_title = "Missing values: NULL share per column (%) · 缺失率";
    let issues_svg = draw(Kind::Bar { value_label: "rows 行数" }, issues_title, &issues);
    let nulls_svg = draw(Kind::Bar { value_label: "% NULL 缺失率" }, nulls_title, &null_rows);
    let elapsed = start.elapsed();
    let mut sql_note =
        String::from("-- one column_profile query per table (one pass each), then its duplicate-key count\n");
    for statement in profiles.iter().flat_map(|p| &p.sql) {
        let _ = writeln!(sql_note, "{statement};");
    }
    Ok(vec![
        Chart {
            id: "quality_issues".into(),
            section: Section::Quality,
            title: issues_title.into(),
            sql: sql_note.clone(),
            table: issues,
            svg: issues_svg,
            elapsed,
        },
        Chart {
            id: "quality_nulls".into(),
            section: Section::Quality,
            title: nulls_title.into(),
            sql: sql_note.clone(),
            table: null_rows,
            svg: nulls_svg,
            elapsed: Duration::ZERO,
        },
        Chart {
            id: "quality_profile".into(),
            section: Section::Quality,
            title: "Column profiles · 字段画像".into(),
            sql: sql_note,
            svg: String::new(),
            table: profile,
            elapsed: Duration::ZERO,
        },
    ])
}

/// Draws `table` as `kind`.
fn draw(kind: Kind, title: &str, table: &Table) -> String {
    let n = table.rows.len();
    match kind {
        Kind::Bar { value_label } => {
            let rows: Vec<usize> = (0..n).filter(|&r| table.number(r, 1).is_some()).collect();
            let labels: Vec<String> = rows.iter().map(|&r| table.text(r, 0).to_string()).collect();
            let values: Vec<f64> = rows.iter().filter_map(|&r| table.number(r, 1)).collect();
            svg::bar_chart(title, value_label, &labels, &values)
        }
        Kind::Heat { threshold } => {
            let mut ys: Vec<String> = Vec::new();
            let mut xs: Vec<String> = Vec::new();
            for r in 0..n {
                for (labels, column) in [(&mut ys, 0), (&mut xs, 1)] {
                    let label = table.text(r, column);
                    if !labels.iter().any(|l| l == label) {
                        labels.push(label.to_string());
                    }
                }
            }
            let mut cells = vec![vec![None; xs.len()]; ys.len()];
            for r in 0..n {
                let y = ys.iter().position(|l| l == table.text(r, 0));
                let x = xs.iter().position(|l| l == table.text(r, 1));
                if let (Some(y), Some(x)) = (y, x) {
                    cells[y][x] = table.number(r, 2);
                }
            }
            svg::heat_map(title, &xs, &ys, &cells, threshold)
        }
        Kind::Lines { x_title, y_title, diagonal } => {
            let mut series: Vec<Series> = Vec::new();
            for r in 0..n {
                let (Some(x), Some(y)) = (table.number(r, 1), table.number(r, 2)) else { continue };
                let name = table.text(r, 0);
                match series.iter_mut().find(|s| s.name == name) {
                    Some(s) => s.points.push((x, y)),
                    None => series.push(Series { name: name.to_string(), points: vec![(x, y)] }),
                }
            }
            svg::line_chart(title, x_title, y_title, &series, diagonal)
        }
        Kind::Forest { x_title, reference } => {
            let rows: Vec<ForestRow> = (0..n)
                .map(|r| ForestRow {
                    label: table.text(r, 0).to_string(),
                    estimate: table.number(r, 1).unwrap_or(f64::NAN),
                    low: table.number(r, 2).unwrap_or(f64::NAN),
                    high: table.number(r, 3).unwrap_or(f64::NAN),
                })
                .collect();
            svg::forest_plot(title, x_title, &rows, reference)
        }
    }
}

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', 'PingFang SC', 'WenQuanYi Micro Hei', sans-serif;
       margin: 0 auto; max-width: 1180px; padding: 16px 24px; color: #1a1a1a; background: #fff; }
header { border-bottom: 2px solid #0072B2; margin-bottom: 12px; }
h1 { font-size: 24px; margin: 8px 0; } h2 { font-size: 20px; margin: 24px 0 8px; color: #0072B2; }
nav a { margin-right: 12px; color: #0072B2; }
.meta { color: #555; font-size: 13px; }
figure.chart { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; margin: 12px 0 24px; break-inside: avoid; page-break-inside: avoid; }
figure.chart > svg { flex: 0 0 auto; max-width: 100%; height: auto; }
details.chart-data { flex: 1 1 300px; min-width: 280px; font-size: 12px; }
details.chart-data summary { cursor: pointer; color: #0072B2; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.table-scroll { max-height: 420px; overflow: auto; }
pre.chart-sql { background: #f5f5f5; padding: 8px; font-size: 11px; white-space: pre-wrap; }
footer { color: #777; font-size: 12px; margin-top: 24px; border-top: 1px solid #ccc; }
@media print { nav, details.chart-data { display: none; } body { max-width: none; } h2 { break-before: page; } }
";

impl Report {
    /// The report as one self-contained HTML document.
    #[must_use]
    pub fn html(&self) -> String {
        let mut out = String::with_capacity(1 << 20);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
             <title>Persona report · 客户分析报告</title><style>{STYLE}</style></head><body>\n<header><h1>Persona report · 客户分析报告</h1>\
             <p class=\"meta\">Lake {} · as of {} · {} charts</p><nav>",
            escape(&self.lake),
            escape(&self.as_of),
            self.charts.iter().filter(|c| !c.svg.is_empty()).count()
        );
        for section in &self.sections {
            let _ = write!(out, "<a href=\"#sec-{}\">{}</a>", section.name(), escape(section.title()));
        }
        out.push_str("</nav></header>\n");
        for section in &self.sections {
            let _ = writeln!(
                out,
                "<section class=\"report-section\" id=\"sec-{name}\" data-section=\"{name}\"><h2>{}</h2>",
                escape(section.title()),
                name = section.name()
            );
            for chart in self.charts.iter().filter(|c| c.section == *section) {
                write_chart(&mut out, chart);
            }
            out.push_str("</section>\n");
        }
        out.push_str("<footer>Generated by Persona. Every chart lists the table it was drawn from and the SQL that produced it.</footer></body></html>\n");
        out
    }
}

fn write_chart(out: &mut String, chart: &Chart) {
    let id = escape(&chart.id);
    if chart.svg.is_empty() {
        // a table without a picture: the full column profile
        let _ = write!(out, "<div class=\"chart-table\" data-table=\"{id}\"><h3>{}</h3>", escape(&chart.title));
        out.push_str("<details class=\"chart-data\"><summary>Table · 表</summary><div class=\"table-scroll\">");
        write_table(out, &chart.id, &chart.table);
        out.push_str("</div></details></div>\n");
        return;
    }
    let _ = write!(out, "<figure class=\"chart\" data-chart=\"{id}\">{}", chart.svg);
    let _ = write!(
        out,
        "<details class=\"chart-data\"><summary>Data and SQL · 数据与 SQL ({} rows, {:.1} s)</summary><div class=\"table-scroll\">",
        chart.table.rows.len(),
        chart.elapsed.as_secs_f64()
    );
    write_table(out, &chart.id, &chart.table);
    let _ = writeln!(out, "</div><pre class=\"chart-sql\">{}</pre></details></figure>", escape(chart.sql.trim()));
}

fn write_table(out: &mut String, id: &str, table: &Table) {
    let _ = write!(out, "<table data-chart=\"{}\"><thead><tr>", escape(id));
    for c in &table.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            if cell.number.is_some() {
                let _ = write!(out, "<td class=\"num\">{}</td>", escape(&cell.text));
            } else {
                let _ = write!(out, "<td>{}</td>", escape(&cell.text));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_parse_from_a_list() {
        assert_eq!(Section::parse_list("").unwrap_or_default(), Section::ALL.to_vec());
        assert_eq!(
            Section::parse_list("credit, drift,credit").unwrap_or_default(),
            vec![Section::Credit, Section::Drift]
        );
        let err = Section::parse_list("credit,weather").map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("unknown section 'weather'") && err.contains("segmentation"), "{err}");
    }

    #[test]
    fn every_section_with_sql_charts_has_one_and_ids_are_unique() {
        for section in Section::ALL {
            let n = CHARTS.iter().filter(|c| c.section == section).count();
            assert!(n > 0 || section == Section::Quality, "{section:?}");
        }
        let mut ids: Vec<_> = CHARTS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CHARTS.len());
    }
}
