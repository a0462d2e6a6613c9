//! `fpec report plot`: redraws the SVG plot of a report from its JSON,
//! without rerunning the flow or the search: a `fpec flow` sweep's
//! `summary.json` gives `energy.svg`, a `fpec dnn opt` `dnn-report.json`
//! gives `dnn-report.svg` (next to the JSON unless `--out` is given). The
//! charts are the ones the commands draw ([`crate::flow::energy_chart`],
//! [`crate::dnn::opt::report_chart`]).

use crate::dnn::opt::{plot_title, report_chart_from_json};
use crate::flow::energy_chart_from_summary;
use crate::util::{as_usage, usage, write_atomic};
use anyhow::Result;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// Arguments of `fpec report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(subcommand)]
    cmd: ReportCmd,
}

#[derive(Subcommand, Debug)]
enum ReportCmd {
    /// Redraw a report's plot from its JSON (summary.json -> energy.svg,
    /// dnn-report.json -> dnn-report.svg).
    Plot(PlotArgs),
}

/// Arguments of `fpec report plot`.
#[derive(Args, Debug)]
struct PlotArgs {
    /// A flow `summary.json` or a `dnn-report.json`.
    json: PathBuf,
    /// Output SVG (default: energy.svg or dnn-report.svg next to the JSON).
    #[arg(long, value_name = "SVG")]
    out: Option<PathBuf>,
    /// Model name in the title of a DNN plot (the JSON does not record it;
    /// default: from the `dnn-report.md` next to the JSON, else none).
    #[arg(long)]
    model_name: Option<String>,
}

/// Runs `fpec report`.
pub fn run(args: ReportArgs) -> Result<()> {
    match args.cmd {
        ReportCmd::Plot(a) => run_plot(a),
    }
}

/// The model name from the heading of a `dnn-report.md` ("# FPEC-Opt
/// report: NAME").
fn model_name_from_md(md: &Path) -> Option<String> {
    let text = std::fs::read_to_string(md).ok()?;
    let name = text
        .lines()
        .next()?
        .strip_prefix("# FPEC-Opt report: ")?
        .trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn run_plot(a: PlotArgs) -> Result<()> {
    let text = crate::util::read_text_limited(&a.json, 256 << 20, "report")?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{} is not JSON: {e}", a.json.display())))?;
    let dir = a.json.parent().unwrap_or(Path::new("."));
    let (svg, default_name) = if v.get("baselines").is_some() {
        (
            energy_chart_from_summary(&text).map_err(as_usage)?.to_svg(),
            "energy.svg",
        )
    } else if v.get("sparse_curve").is_some() {
        (
            crate::flow::curve::chart_from_json(&text)
                .map_err(as_usage)?
                .to_svg(),
            "sparse-curve.svg",
        )
    } else if v.get("energy_model").is_some() {
        let budget = v.get("budget").and_then(|b| b.as_f64()).unwrap_or(0.0);
        let name = a
            .model_name
            .clone()
            .or_else(|| model_name_from_md(&dir.join("dnn-report.md")));
        let title = match name {
            Some(n) => plot_title(&n, budget),
            None => format!("FPEC-Opt (budget {budget} pp)"),
        };
        (
            report_chart_from_json(&text, &title)
                .map_err(as_usage)?
                .to_svg(),
            "dnn-report.svg",
        )
    } else {
        return Err(usage(format!(
            "{}: neither a flow summary.json (no \"baselines\") nor a dnn-report.json (no \"energy_model\")",
            a.json.display()
        )));
    };
    let out = a.out.unwrap_or_else(|| dir.join(default_name));
    write_atomic(&out, svg.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(())
}
